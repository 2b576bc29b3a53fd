"""Every intent the bot serves, registered explicitly by the factory."""

from __future__ import annotations

from bot.dispatch import Intent
from handlers import common, policy_qa, services

ALL: tuple[Intent, ...] = (
    common.welcome,
    common.greeting,
    common.help_,
    common.contact,
    common.cancel,
    common.back,
    services.human_agent,
    services.training_list,
    services.training_register,
    services.training_mine,
    services.training_cancel,
    services.mediation_apply,
    services.appeal_submit,
    services.case_status,
    services.member_bind,
    policy_qa.intent,
    common.out_of_scope,
)
