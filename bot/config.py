"""Non-secret defaults; the factory layers the environment and explicit overrides on top."""

# Development placeholders. ``create_app`` refuses to start in production with either of
# these, because a guessable token lets anyone forge WeChat messages and admin sessions.
DEV_WECHAT_TOKEN = "dev-token"
DEV_SECRET_KEY = "dev-secret-key"

ENV = "development"  # "production" turns on the fail-fast checks
WECHAT_TOKEN = DEV_WECHAT_TOKEN
WECHAT_APP_ID = "wx-dev-appid"
WECHAT_APP_SECRET = "dev-app-secret"
WECHAT_AES_KEY = ""
WECHAT_API_BASE = "https://api.weixin.qq.com/cgi-bin/"
# The original account id (gh_...) is what replies carry as FromUserName.
WECHAT_ACCOUNT_ID = "gh_shanghui_dev"
DATABASE_URL = ""
REDIS_URL = ""
SECRET_KEY = ""
# Set by the factory when neither SECRET_KEY nor instance/secret_key gave a key and this
# process signs with a random one; `flask init` then stores a key for every process.
SECRET_KEY_TEMPORARY = False

# Seconds a signed request may differ from our clock before it is treated as a replay.
WEBHOOK_TIMESTAMP_WINDOW_SECONDS = 300
# WeChat hangs up after 5 s; answer `success` before that and push the reply later.
WEBHOOK_REPLY_BUDGET_SECONDS = 4.0
WEBHOOK_MAX_BODY_BYTES = 64 * 1024
# WeChat retries for ~15 s; keep finished replies a little longer than that.
DEDUP_TTL_SECONDS = 300
DIALOGUE_TTL_SECONDS = 30 * 60
REPLY_MAX_BYTES = 2000

# Customer-service windows (WeChat rules): a user message opens 5 pushes within 48 h,
# a menu click, follow or scan opens 3 pushes within 1 minute.
PUSH_WINDOW_MESSAGE = (5, 48 * 3600)
PUSH_WINDOW_EVENT = (3, 60)

CONVLOG_FLUSH_SECONDS = 1.0
CONVLOG_BATCH = 500
# Web processes write the log themselves only when this many lines wait (no worker running).
CONVLOG_BACKSTOP = 2000

RQ_QUEUE = "bot"
# A template message for notices outside the customer-service window (waiting-list
# promotions, reminders); unset, such notices wait for the member's next message.
WECHAT_NOTICE_TEMPLATE_ID = ""
# Notices (通知公告): a send to more recipients than this needs a second admin's approval.
NOTICE_APPROVAL_THRESHOLD = 50
# The account type decides the mass-send quota: "subscription" (订阅号: one mass send a day)
# or "service" (服务号: each follower receives at most 4 a month).
WECHAT_ACCOUNT_TYPE = "service"
# The notices' template message (title, summary, date keywords: bot.services.notices.rules);
# unset, the notice template above is used.
NOTICE_TEMPLATE_ID = ""
# Sending: rows claimed per batch, their lease, concurrent requests per worker, how many
# send jobs run side by side (more than workers, so a new worker finds one at once), and how
# often the sweep resumes what a dead worker left.
NOTICE_BATCH_SIZE = 500
NOTICE_LEASE_SECONDS = 60
NOTICE_SEND_THREADS = 6
NOTICE_CHAINS = 4
NOTICE_SWEEP_SECONDS = 30
# Seconds a notice's API call may take; longer is a time-out (outcome unknown).
NOTICE_REQUEST_TIMEOUT = 5.0
# How often `flask scheduler` queues the chores (tomorrow's training reminders) for a worker.
CHORES_INTERVAL_SECONDS = 600

# The port `make run` serves on (127.0.0.1:PORT); PUBLIC_BASE_URL follows it unless set.
PORT = 5000
# Where members' phones reach the app's pages (knowledge-base detail pages, check-in codes).
PUBLIC_BASE_URL = "http://127.0.0.1:5000"
# Where files members attach to forms are stored (fetched from WeChat); empty: under the
# instance folder, instance/attachments. Production points it at a backed-up volume.
ATTACHMENTS_FOLDER = ""
# Set true when the console is served over HTTPS (it should be in production).
SESSION_COOKIE_SECURE = False
# How often each process looks for a newer knowledge-base version in Redis.
KB_RELOAD_SECONDS = 0.5

# The organisation's facts that differ per city; answers and replies read them as ``org.*``.
ORG_NAME = "示范市工商业联合会"
ORG_SHORT_NAME = "示范市工商联"
ORG_BOT_NAME = "商会助手"
ORG_PHONE = "0000-12345678"
ORG_ADDRESS = "示范市人民路 1 号市民中心 5 楼"
ORG_OFFICE_HOURS = "工作日 9:00–12:00，14:00–17:30"
ORG_EMAIL = "service@example.org"
ORG_CHAMBER_DEPT = "商会工作部"
ORG_LEGAL_DEPT = "法律维权部"
ORG_ECONOMIC_DEPT = "经济服务部"
ORG_MEDIATION_COMMITTEE = "示范市商会人民调解委员会"
# What members are told 法治体检 costs (公益法律服务: free unless a federation says otherwise),
# and the partner banks a financing request may be shared with (named in the consent).
ORG_LEGAL_CHECKUP_FEE = "免费（公益法律服务，不向企业收取任何费用）"
ORG_PARTNER_BANKS = "示范农村商业银行、示范银行示范分行、示范建设银行示范支行"
# Office hours for the human hand-off: weekdays (0 = Monday) and local hours.
ORG_TIMEZONE = "Asia/Shanghai"

# Human hand-off: when staff are at their desks (local time), and how often a member
# writing during a hand-off is reminded that a person will answer.
HANDOFF_WEEKDAYS = "0,1,2,3,4"
HANDOFF_HOURS = "09:00-12:00,14:00-17:30"
HANDOFF_ACK_SECONDS = 600

# Appeals (诉求): working days to answer, by urgency, and 复杂 for the categories listed in
# APPEAL_COMPLEX_CATEGORIES ("名称:天数" pairs, comma-separated, as in an environment file).
APPEAL_ANSWER_WORKDAYS = "紧急:1,一般:10,复杂:15"
APPEAL_COMPLEX_CATEGORIES = "用地"

# Reverse proxies in front of the app whose X-Forwarded-* headers are trusted (nginx: 1).
PROXY_COUNT = 0
