from loopctl.platform.errors import Conflict, NotFound


class AgentNotFound(NotFound):
    code = "agent_not_found"
    default_message = "Agent not found"


class AgentNameTaken(Conflict):
    code = "agent_name_taken"
    default_message = "An agent with this name already exists in this tenant"


class KeyBoundToOtherAgent(Conflict):
    code = "key_bound_to_other_agent"
    default_message = "This key is bound to a different agent; keys never change their agent"
