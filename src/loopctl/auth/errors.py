from loopctl.platform.errors import Forbidden

TenantSuspended = Forbidden.variant(
    "tenant_suspended", "This tenant is suspended; contact the operator of this loopctl server"
)

SignupDisabled = Forbidden.variant(
    "signup_disabled", "Tenant registration is turned off on this server (LOOPCTL_ALLOW_SIGNUP)"
)
