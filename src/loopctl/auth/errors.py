from loopctl.platform.errors import Forbidden


class TenantSuspended(Forbidden):
    code = "tenant_suspended"
    default_message = "This tenant is suspended; contact the operator of this loopctl server"


class SignupDisabled(Forbidden):
    code = "signup_disabled"
    default_message = "Tenant registration is turned off on this server (LOOPCTL_ALLOW_SIGNUP)"
