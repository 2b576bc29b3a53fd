"""Names: companies (by their suffix) and people (when they introduce themselves).

One module because a person's name must not be a company's: 我是华兴五金厂的.
"""

from __future__ import annotations

from datetime import date

from bot.nlu.entities.scan import CJK, Found, any_of, ascii_re, has_any

# Characters that any match of the pattern must contain: most messages contain none, and a
# character-class search is far cheaper than the scan itself.
_COMPANY_TRIGGERS = any_of("司团厂店室社所行")

_COMPANY_SUFFIX_RE = ascii_re(
    r"(?:集团)?(?:股份)?有限(?:责任)?公司|集团(?:公司)?|工作室|合作社|事务所|商行|公司"
    r"|厂(?![长家房区商址])|店(?![铺面员主长])"
)
_COMPANY_CHAR_RE = ascii_re(rf"[{CJK}A-Za-z0-9()·&]")
# The name is the run just before the suffix, after the last of these.
_COMPANY_STOP_RE = ascii_re(
    r"我们|你们|他们|她们|一家|两家|几家|哪家|每家|这家|那家|关于|对于|联系|起诉|投诉|拖欠|"
    r"代表|加入|注册|成立|开了|开的|办了|位于|属于|就职|任职|上班|入职|报名|参加|合作|承包|"
    r"[是在和跟与的我你他她给替帮为向对找被把从到去来叫请让这那该本贵了个及或欠告做买卖收付签]"
)
_GENERIC_COMPANY_BODIES = {
    "上市", "空壳", "皮包", "外包", "物流", "快递", "保险", "科技", "贸易", "装修", "中介",
    "咨询", "投资", "建筑", "劳务", "家政", "网络", "文化", "广告", "餐饮", "运输", "设计",
    "销售", "工程", "外贸", "私营", "民营", "国有", "国营", "外资", "合资", "个人", "实体",
    "直营", "连锁", "加盟", "旗舰", "专卖", "便利", "小卖", "五金", "服装", "水果", "超市",
    "某某", "某", "这种", "那种", "别的", "其他", "其它", "对方", "加工", "食品", "电子",
}  # fmt: skip


def _company(s: str) -> str | None:
    if not has_any(s, _COMPANY_TRIGGERS):
        return None
    for m in _COMPANY_SUFFIX_RE.finditer(s):
        end = m.start()
        start = end
        while start > 0 and end - start < 30 and _COMPANY_CHAR_RE.match(s[start - 1]):
            start -= 1
        run = s[start:end]
        cut = 0
        for stop in _COMPANY_STOP_RE.finditer(run):
            cut = stop.end()
        body = run[cut:].lstrip(")·&")
        if len(body) < 2 or body in _GENERIC_COMPANY_BODIES or body.isdigit():
            continue
        return body + m.group(0)
    return None


# The same pre-check for names: each marker contains one of these.
_NAME_TRIGGERS = any_of("叫名姓联是")

_NAME_MARKER_RE = ascii_re(
    r"(我叫|我名叫|本人叫|名字(?:是|叫)|姓名(?:是|为)?|联系人(?:是|为)?|我是)\s*:?\s*"
    rf"([{CJK}·]{{1,10}})"
)
# Where the name ends; only looked for from the third character on so that given names with
# these characters (李和平, 王为民, 张有才) survive.
_NAME_STOP_RE = ascii_re(
    r"电话|手机|号码|联系|今年|报名|咨询|申请|参加|预约|投诉|调解|反映|需要|打算|准备|负责|这边|"
    r"那边|公司|老板|经理|会员|现在|已经|今天|明天|[想要来去在是的了呢啊吧呀哦嘛和跟与从住问请"
    r"我你他她也就还刚有没对给帮替为把被让叫说看做开办报一]"
)
_COMMON_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤蒙农常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    "兰焦俞左柳甘祝包宁尚符舒阮纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒲鲍"
)
_COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容",
    "令狐", "长孙", "宇文", "司徒", "夏侯", "端木", "独孤", "南宫", "西门",
)  # fmt: skip
_NOT_NAMES = {
    "会员", "新会员", "老会员", "会长", "副会长", "秘书长", "秘书", "老板", "老板娘", "企业",
    "企业家", "商户", "个体", "个体户", "店主", "厂长", "经理", "负责人", "法人", "本人", "新人",
    "学员", "家长", "客户", "用户", "朋友", "老师", "同学", "党员", "群众", "股东", "董事长",
    "总经理", "财务", "会计", "员工", "职工", "工人", "什么", "哪位", "谁啊", "管理员", "机器人",
    "马上", "高兴", "方便", "周末", "黄金", "金牌", "向来", "于是", "何时", "余下", "史上",
    "常常", "白天", "许多", "任何", "付款", "付钱", "毛利", "夏天", "严重", "成功", "安全",
    "温州", "万一", "程序", "龙头", "江湖", "文员", "关于", "路过", "单身", "包工头", "齐全",
}  # fmt: skip
# After 我是 these also end a candidate that merely starts with them (我是马上到, 我是会员啊);
# after the explicit markers they would cost real names such as 高兴华.
_NOT_NAME_PREFIXES = tuple(_NOT_NAMES)
# A leading place name or a trailing place/title word: "我是江西的", "我是高新区的", "张总".
_NAME_PLACE_PREFIXES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "四川",
    "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "宁夏", "新疆", "香港", "澳门", "南宁",
    "柳州", "桂林", "梧州", "北海", "钦州", "玉林", "百色", "贺州", "河池", "来宾", "崇左",
    "防城", "贵港", "广州", "深圳", "武汉", "长沙", "成都", "杭州", "南京", "苏州", "东莞",
)  # fmt: skip
_NAME_BAD_ENDINGS = (
    "区", "市", "县", "省", "镇", "村", "乡", "街道", "路", "街", "人", "籍", "族", "总", "董",
    "老板", "经理", "先生", "女士", "小姐", "老师", "会长", "主任", "书记", "师傅", "姐", "哥",
    "叔", "姨", "工", "厂", "店", "行", "室", "社", "所", "团",
)  # fmt: skip
_NAME_BAD_FIRST = set(
    "了过着的地得是在不也都还就要想来去会能可把被让给跟和与你我他她它们这那什怎啊吧呢吗做"
)


def _person_name(s: str) -> str | None:
    if not has_any(s, _NAME_TRIGGERS):
        return None
    for m in _NAME_MARKER_RE.finditer(s):
        marker, run = m.group(1), m.group(2)
        stop = _NAME_STOP_RE.search(run, 2)
        name = run[: stop.start()] if stop else run
        rest = run[len(name) :]
        if not 2 <= len(name) <= 4 or name[0] in _NAME_BAD_FIRST:
            continue
        if name in _NOT_NAMES or name.startswith(_NAME_PLACE_PREFIXES):
            continue
        if marker == "我是" and name.startswith(_NOT_NAME_PREFIXES):
            continue
        if name.endswith(_NAME_BAD_ENDINGS) or rest.startswith("人"):
            continue
        if _COMPANY_SUFFIX_RE.search(name + rest[:4]):
            continue  # 我是华兴五金厂的: a company, not a person
        if marker == "我是" and not (
            name[0] in _COMMON_SURNAMES or name.startswith(_COMPOUND_SURNAMES)
        ):
            continue
        return name
    return None


def find_company(s: str, today: date) -> Found:
    """A company name marked by its suffix (有限公司, 厂, 商行 ...)."""
    value = _company(s)
    return ({"company": value} if value is not None else {}), []


def find_person_name(s: str, today: date) -> Found:
    """An explicitly introduced name (我叫张三, 联系人李四)."""
    value = _person_name(s)
    return ({"person_name": value} if value is not None else {}), []
