from loopctl.platform.errors import Conflict, NotFound

AgentNotFound = NotFound.variant("agent_not_found", "Agent not found")

AgentNameTaken = Conflict.variant(
    "agent_name_taken", "An agent with this name already exists in this tenant"
)

KeyBoundToOtherAgent = Conflict.variant(
    "key_bound_to_other_agent",
    "This key is bound to a different agent; keys never change their agent",
)
