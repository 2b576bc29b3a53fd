"""Every intent the bot serves, registered explicitly by the factory.

The list is the only registration: everything else about an intent (commands, menu keys,
whether the classifier learns it, whether it may interrupt a form) is declared by its
``Intent(...)`` in its handler module. ``tests/handlers/test_registry.py`` fails when a
module's intent is missing here or the examples files do not match the classified intents.
"""

from __future__ import annotations

from bot.dialogue.intents import Intent
from handlers import (
    appeal_feedback,
    appeal_submit,
    case_status,
    common,
    financing_request,
    human_agent,
    investment_lead,
    legal_checkup,
    mediation_apply,
    member_bind,
    notices,
    policy_qa,
    proxy_service,
    service_hall,
    training_cancel,
    training_list,
    training_mine,
    training_register,
)

ALL: tuple[Intent, ...] = (
    common.welcome,
    common.greeting,
    common.goodbye,
    common.help_,
    common.contact,
    common.cancel,
    common.back,
    human_agent.intent,
    training_list.intent,
    training_register.intent,
    training_mine.intent,
    training_cancel.intent,
    member_bind.intent,
    mediation_apply.intent,
    appeal_submit.intent,
    appeal_feedback.intent,
    case_status.intent,
    notices.intent,
    legal_checkup.intent,
    financing_request.intent,
    proxy_service.intent,
    proxy_service.supplement,
    investment_lead.intent,
    service_hall.intent,
    policy_qa.intent,
    common.out_of_scope,
)
