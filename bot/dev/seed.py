"""Starter content loaded by ``flask init`` where the database is empty."""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from sqlalchemy import func, select

from bot.extensions import db
from bot.kb import entries as knowledge
from bot.models import Case, KnowledgeEntry


def load_all(demo: bool = True) -> Iterator[str]:
    """Load each kind of starter content; yield a line per kind for the console."""
    yield load_knowledge()
    yield load_calendar()
    if demo:
        yield load_demo()
        yield load_mediation_demo()
        yield load_departments()
        yield load_appeals_demo()
        yield load_services_demo()


def load_demo() -> str:
    """A few chambers, members and open training sessions, so a newcomer sees the bot work."""
    from datetime import timedelta

    from bot.models import Chamber, Member, TrainingSession
    from bot.services.clock import local_now

    if db.session.execute(select(func.count()).select_from(TrainingSession)).scalar_one():
        return "demo data: already present (kept)"
    chambers = [
        Chamber(name="示范市浙江商会", kind="异地商会", region="示范市"),
        Chamber(name="示范市建材行业商会", kind="行业商会", region="示范市"),
        Chamber(name="示范市新生代企业家商会", kind="综合性商会", region="示范市"),
    ]
    db.session.add_all(chambers)
    db.session.add_all(
        [
            Member(
                name="张三",
                company="示范市华兴五金有限公司",
                position="总经理",
                mobile="13800000001",
                chamber=chambers[1],
                tags="会长单位",
            ),
            Member(
                name="李四",
                company="示范市青禾科技有限公司",
                position="董事长",
                mobile="13800000002",
                chamber=chambers[2],
                tags="青年企业家",
            ),
            Member(
                name="王五",
                company="示范市甬商贸易商行",
                position="负责人",
                mobile="13800000003",
                chamber=chambers[0],
                tags="",
            ),
        ]
    )
    today = local_now(current_app.config).replace(hour=9, minute=0, second=0, microsecond=0)
    db.session.add_all([
        TrainingSession(
            title="非公经济大讲堂·经济形势解读", kind="非公经济大讲堂",
            description="邀请经济学者解读当前经济形势和惠企政策，线上线下同步，现场互动答疑。",
            starts_at=today + timedelta(days=5, hours=5),
            ends_at=today + timedelta(days=5, hours=7),
            place="市民中心三楼报告厅", online_link="", capacity=120,
            deadline=today + timedelta(days=4, hours=9), audience="anyone", status="open"),
        TrainingSession(
            title="第三期新生代企业家培训班", kind="新生代企业家培训班",
            description="面向年轻一代企业家：企业管理、传承与创新、红色教育现场教学，为期三天。",
            starts_at=today + timedelta(days=12), ends_at=today + timedelta(days=14, hours=8),
            place="市委党校", capacity=40, deadline=today + timedelta(days=9, hours=9),
            audience="anyone", status="open"),
        TrainingSession(
            title="优秀民营企业家培训班（会员专场）", kind="优秀民营企业家培训班",
            description="面向商会会员企业负责人：战略管理、合规经营与企业家精神。",
            starts_at=today + timedelta(days=20), ends_at=today + timedelta(days=21, hours=8),
            place="市工商联培训中心", capacity=30, deadline=today + timedelta(days=16),
            audience="members", status="open"),
    ])  # fmt: skip
    db.session.commit()
    return "demo data: 3 chambers, 3 members, 3 open training sessions"


def load_knowledge() -> str:
    count = db.session.execute(select(func.count()).select_from(KnowledgeEntry)).scalar_one()
    if count:
        return f"knowledge base: {count} entries already present (kept)"
    created, _ = knowledge.import_entries(db.session, knowledge.read_files())
    db.session.commit()
    knowledge.bump_version(current_app.extensions["redis"])
    return f"knowledge base: {created} starter entries loaded"


def load_calendar() -> str:
    """The holiday calendar from chinese-calendar, for the years it covers (kept if there)."""
    from bot.services import calendar, clock

    added = calendar.seed(db.session)
    db.session.commit()
    until = calendar.covered_until(db.session, clock.local_now(current_app.config).date())
    shown = until.isoformat() if until else "not this year"
    return f"holiday calendar: {len(added)} years added, covered until {shown}"


def load_mediation_demo() -> str:
    """Two mediation committees taking different dispute types, and two demo disputes."""
    from bot.models import Chamber, Committee
    from bot.services import clock
    from bot.services.cases import engine, mediation

    if db.session.execute(select(func.count()).select_from(Committee)).scalar_one():
        return "mediation demo: committees already present (kept)"
    zhejiang = db.session.execute(
        select(Chamber).where(Chamber.name == "示范市浙江商会")
    ).scalar_one_or_none()
    db.session.add_all(
        [
            Committee(
                name="示范市浙江商会人民调解委员会",
                chamber=zhejiang,
                dispute_types=["合同", "货款债务"],
                contact="陈调解员 0000-12345601",
                address="示范市人民路 8 号浙江商会 3 楼",
            ),
            Committee(
                name=current_app.config.get("ORG_MEDIATION_COMMITTEE") or "商会人民调解委员会",
                dispute_types=list(mediation.DISPUTE_TYPES),
                contact="刘调解员 0000-12345602",
                address=str(current_app.config.get("ORG_ADDRESS") or ""),
                is_default=True,
            ),
        ]
    )
    db.session.flush()
    today = clock.local_now(current_app.config).date()
    demo = [
        ("o-demo-member-1", "货款债务", "示范市华兴五金有限公司", 200000, zhejiang),
        ("o-demo-member-2", "劳动用工", "示范市青禾科技有限公司", None, None),
    ]
    for openid, category, party, amount, chamber in demo:
        engine.open_case(
            db.session,
            mediation.KIND,
            openid=openid,
            today=today,
            data={"other_party": party, "facts": "示范数据：用于演示调解案件的办理流程。"},
            category=category,
            title=party,
            amount=amount,
            chamber_id=chamber.id if chamber is not None else None,
        )
    db.session.commit()
    return "mediation demo: 2 committees, 2 disputes"


def load_departments() -> str:
    """Two departments answering appeals of different categories (the federation's own)."""
    from bot.models import Department

    if db.session.execute(select(func.count()).select_from(Department)).scalar_one():
        return "departments: already present (kept)"
    cfg = current_app.config
    db.session.add_all(
        [
            Department(
                name=cfg.get("ORG_ECONOMIC_DEPT") or "经济服务部",
                categories=["融资", "用地", "人才", "税费"],
                contact="王科长 0000-12345611",
            ),
            Department(
                name=cfg.get("ORG_LEGAL_DEPT") or "法律维权部",
                categories=["政策落实", "营商环境", "法律权益", "建言献策", "其他"],
                contact="李科长 0000-12345612",
            ),
        ]
    )
    db.session.commit()
    return "departments: 2 departments"


def load_appeals_demo() -> str:
    """Two demo appeals routed to the departments: one just submitted, one acknowledged."""
    from bot.services import clock
    from bot.services.cases import appeals, engine

    if db.session.execute(
        select(func.count()).select_from(Case).where(Case.kind == appeals.NAME)
    ).scalar_one():
        return "appeals demo: already present (kept)"
    cfg = current_app.config
    today = clock.local_now(cfg).date()
    demo = [
        ("o-demo-member-1", "融资", "一般", "续贷审批迟迟不批", False),
        ("o-demo-member-2", "营商环境", "紧急", "园区频繁停电影响生产", True),
    ]
    for openid, category, urgency, title, acknowledge in demo:
        workdays = appeals.answer_workdays(category, urgency, cfg)
        promised = appeals.promise(db.session, today, workdays)
        case = engine.open_case(
            db.session,
            appeals.KIND,
            openid=openid,
            today=today,
            category=category,
            title=title,
            data={
                "urgency": urgency,
                "title": title,
                "content": "示范数据：用于演示企业诉求的受理、答复和回访流程。",
                "company": "示范市青禾科技有限公司",
                "answer_workdays": workdays,
                "answer_due": promised.isoformat() if promised else "",
                "confidential": False,
            },
        )
        if acknowledge:
            engine.act(db.session, case, "acknowledge", None, today=today)
    db.session.commit()
    return "appeals demo: 2 appeals"


def load_services_demo() -> str:
    """What the four services route to: the departments' service categories, a lawyer, the
    partner banks (ORG_PARTNER_BANKS) and a 代办员 on the rosters (no console users: staff
    pass requests on), and the demo 代办事项清单 (knowledge/proxy_catalogue.csv)."""
    from bot.models import Chamber, Department, Provider, ProxyItem
    from bot.paths import KNOWLEDGE_DIR
    from bot.services import catalogue

    if db.session.execute(select(func.count()).select_from(Provider)).scalar_one():
        return "services demo: already present (kept)"
    cfg = current_app.config
    wanted = {
        cfg.get("ORG_ECONOMIC_DEPT") or "经济服务部": ["融资对接", "招商引资"],
        cfg.get("ORG_LEGAL_DEPT") or "法律维权部": ["法治体检"],
        cfg.get("ORG_CHAMBER_DEPT") or "商会工作部": ["商会代办"],
    }
    for name, tags in wanted.items():
        row = db.session.execute(select(Department).where(Department.name == name)).scalar()
        if row is None:
            row = Department(name=name, categories=[], contact="")
            db.session.add(row)
        row.categories = list(row.categories or []) + [
            t for t in tags if t not in (row.categories or [])
        ]
    away = db.session.execute(select(Chamber).where(Chamber.kind == "异地商会")).scalars().first()
    banks = [b.strip() for b in str(cfg.get("ORG_PARTNER_BANKS") or "").split("、") if b.strip()]
    db.session.add_all(
        [Provider(kind="lawyer", name="张律师", organisation="示范律师事务所",
                  contact="0000-12345688")]
        + [Provider(kind="bank", name=bank) for bank in banks]
        + [Provider(kind="agent", name="王代办员", contact="0000-12345699",
                    chamber_id=away.id if away is not None else None)]
    )  # fmt: skip
    items = 0
    if not db.session.execute(select(func.count()).select_from(ProxyItem)).scalar_one():
        table = catalogue.read_table(KNOWLEDGE_DIR / "proxy_catalogue.csv")
        items = catalogue.import_table(db.session, table).created
    db.session.commit()
    return f"services demo: rosters of {2 + len(banks)}, {items} 代办事项"
