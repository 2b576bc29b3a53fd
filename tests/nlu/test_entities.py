"""Tables for ``bot.nlu.entities.extract``: every entity, its normal forms, and what must not match.

``TODAY`` is pinned to Monday 2026-11-23 so relative dates are stable; a few cases run at the
year end (2026-12-30, a Wednesday) to check the roll-over into 2027.
"""

from __future__ import annotations

import json
import random
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.nlu.entities import MAX_CHARS, extract, parse_number
from bot.nlu.entities.numbers import money_with_text
from bot.nlu.entities.picks import choice_number

TODAY = date(2026, 11, 23)  # a Monday
YEAR_END = date(2026, 12, 30)  # a Wednesday


def ents(text: str, today: date = TODAY) -> dict[str, Any]:
    return extract(text, today=today)


def pick(text: str, key: str, today: date = TODAY) -> Any:
    return ents(text, today).get(key)


# --------------------------------------------------------------------------------------------
# Chinese numerals
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("五", 5),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("二十五", 25),
        ("一百零五", 105),
        ("一百五", 150),
        ("三千五", 3500),
        ("3千5", 3500),
        ("两万五", 25000),
        ("一万五千", 15000),
        ("1万2", 12000),
        ("两万零五", 20005),
        ("五十万", 500000),
        ("3.5万", 35000),
        ("1.2亿", 120000000),
        ("一亿五千万", 150000000),
        ("12,000", 12000),
        ("二〇二六", 2026),
        ("零", 0),
    ],
)
def test_parse_number(text: str, value: int) -> None:
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "千万", "百", "万", "一二万", "abc", "三点"])
def test_parse_number_rejects(text: str) -> None:
    assert parse_number(text) is None


# --------------------------------------------------------------------------------------------
# Phones
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "我的电话13800138000",
        "138-0013-8000",
        "138 0013 8000",
        "+86 13800138000",
        "+8613800138000",
        "86-138-0013-8000",
        "0086 138 0013 8000",
        "１３８００１３８０００",
        "手机：１３８－００１３－８０００",
        "138—0013—8000",
        "电话13800138000，有事找我",
        "2086 13800138000",
    ],
)
def test_phone(text: str) -> None:
    assert pick(text, "phone") == "13800138000"


@pytest.mark.parametrize(
    "text",
    [
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "身份证450103138001380001",  # inside an ID-card number
        "身份证号45010319900307138X",
        "TJ20261123001",  # a case number
        "案号（2026）桂0103民初13800138000号",
        "订单号1238613800138000",
        "12345678901",  # not a mobile prefix
        "电话0771-1234567",
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits are not read as 0-9
    ],
)
def test_no_phone(text: str) -> None:
    assert "phone" not in ents(text)


def test_several_phones() -> None:
    got = ents("联系15012345678或者18612345678，再不行打15012345678")
    assert got["phone"] == "15012345678"
    assert got["phones"] == ["15012345678", "18612345678"]


def test_single_phone_has_no_list() -> None:
    assert "phones" not in ents("13800138000,13800138000")


# --------------------------------------------------------------------------------------------
# Landlines
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "landline"),
    [
        ("0771-1234567", "0771-1234567"),
        ("座机0771-1234567", "0771-1234567"),
        ("(010)12345678", "010-12345678"),
        ("（010）12345678", "010-12345678"),
        ("010 1234 5678", "010-12345678"),
        ("021-87654321-808", "021-87654321-808"),
        ("电话：0771-5678901转123", "0771-5678901-123"),
        ("0771 5678901", "0771-5678901"),
        ("07715678901", "0771-5678901"),
        ("02187654321", "021-87654321"),
    ],
)
def test_landline(text: str, landline: str) -> None:
    got = ents(text)
    assert got["landline"] == landline
    assert "phone" not in got
    assert "money" not in got


@pytest.mark.parametrize("text", ["2026-12-05", "10771-1234567", "0123-4567890", "13800138000"])
def test_no_landline(text: str) -> None:
    assert "landline" not in ents(text)


# --------------------------------------------------------------------------------------------
# Dates (today = Monday 2026-11-23)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        # relative days
        ("今天", "2026-11-23"),
        ("今天有空吗", "2026-11-23"),
        ("明天", "2026-11-24"),
        ("明日", "2026-11-24"),
        ("后天", "2026-11-25"),
        ("大后天", "2026-11-26"),
        ("昨天", "2026-11-22"),
        ("前天", "2026-11-21"),
        ("今晚", "2026-11-23"),
        ("明早", "2026-11-24"),
        # weekdays: weeks start on Monday
        ("下周三", "2026-12-02"),
        ("下个星期三", "2026-12-02"),
        ("这周五", "2026-11-27"),
        ("本周日", "2026-11-29"),
        ("这个礼拜天", "2026-11-29"),
        ("上周五", "2026-11-20"),
        ("下下周一", "2026-12-07"),
        ("周末", "2026-11-28"),
        ("下周末", "2026-12-05"),
        # a bare weekday is the next occurrence; today counts
        ("周五", "2026-11-27"),
        ("星期五", "2026-11-27"),
        ("礼拜五", "2026-11-27"),
        ("周一", "2026-11-23"),
        ("星期天", "2026-11-29"),
        ("周日", "2026-11-29"),
        ("周7", "2026-11-29"),
        # months
        ("下个月5号", "2026-12-05"),
        ("下月5日", "2026-12-05"),
        ("本月30号", "2026-11-30"),
        ("这个月1号", "2026-11-01"),
        ("每月5号", "2026-12-05"),
        # month-day
        ("12月5日", "2026-12-05"),
        ("12月5号", "2026-12-05"),
        ("12月5", "2026-12-05"),
        ("12月 5 号开会", "2026-12-05"),
        ("十二月五日", "2026-12-05"),
        ("十二月五号", "2026-12-05"),
        ("十一月二十三号", "2026-11-23"),
        ("1月3日", "2027-01-03"),  # already past this year -> next year
        ("11月22日", "2027-11-22"),
        ("2月29日", "2028-02-29"),
        # dotted / slashed, only in date context
        ("12.5号", "2026-12-05"),
        ("12.5日开会", "2026-12-05"),
        ("日期12.5", "2026-12-05"),
        ("时间：12.5", "2026-12-05"),
        ("改到12.5", "2026-12-05"),
        ("截止12.31", "2026-12-31"),
        ("12.5下午", "2026-12-05"),
        ("12/5周六", "2026-12-05"),
        ("12.5前交材料", "2026-12-05"),
        # full dates
        ("2026-12-05", "2026-12-05"),
        ("2026/12/5", "2026-12-05"),
        ("2026.12.5", "2026-12-05"),
        ("2026年12月5日", "2026-12-05"),
        ("2026年12月5号", "2026-12-05"),
        ("２０２６年１２月５日", "2026-12-05"),
        ("二〇二六年十二月五日", "2026-12-05"),
        ("2025年1月3日", "2025-01-03"),  # an explicit year is kept even when past
        ("明年3月5日", "2027-03-05"),
        ("今年12月5日", "2026-12-05"),
        # bare day: this month, or next month if past
        ("5号", "2026-12-05"),
        ("23号", "2026-11-23"),
        ("25号", "2026-11-25"),
        ("30日", "2026-11-30"),
        ("31号", "2026-12-31"),
        ("五号", "2026-12-05"),
        # offsets
        ("3天后", "2026-11-26"),
        ("三天以后", "2026-11-26"),
        ("两周后", "2026-12-07"),
        ("一个星期后", "2026-11-30"),
        # the first date in reading order wins
        ("周五的会改到下周三", "2026-11-27"),
    ],
)
def test_date(text: str, iso: str) -> None:
    assert pick(text, "date") == iso


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("1月3日", "2027-01-03"),
        ("12月31日", "2026-12-31"),
        ("12月29日", "2027-12-29"),
        ("5号", "2027-01-05"),
        ("30号", "2026-12-30"),
        ("下个月5号", "2027-01-05"),
        ("下周三", "2027-01-06"),
        ("周一", "2027-01-04"),
        ("这周三", "2026-12-30"),
        ("明天", "2026-12-31"),
        ("后天", "2027-01-01"),
        ("1.3号", "2027-01-03"),
        ("3天后", "2027-01-02"),
    ],
)
def test_date_at_year_end(text: str, iso: str) -> None:
    assert pick(text, "date", YEAR_END) == iso


@pytest.mark.parametrize(
    "text",
    [
        "3.5万",  # money, not 3 May
        "12.5",  # bare decimal, no date context
        "利率是12.5",
        "增长了3.5%",
        "3.14",
        "人民路5号",  # address
        "3号楼开会",
        "坐地铁5号线",
        "5号窗口",
        "第5号",
        "选3号",
        "每周一次例会",
        "一周一次",
        "以后天天来",
        "后天气温下降",
        "5日内答复",
        "一日三餐",
        "2月30日",  # no such day
        "12月5万",  # an amount in December
        "2026年",
        "12000",
        "13800138000",
        "TJ20261123001",
    ],
)
def test_no_date(text: str) -> None:
    assert "date" not in ents(text)


def test_default_today_and_now() -> None:
    assert extract("明天", now=datetime(2030, 1, 31, 23, 59))["date"] == "2030-02-01"
    before = date.today().isoformat()
    got = extract("今天")["date"]
    assert got in {before, date.today().isoformat()}  # the test may straddle midnight
    # ``today`` wins over ``now``
    assert extract("今天", today=TODAY, now=datetime(2030, 1, 1))["date"] == "2026-11-23"


# --------------------------------------------------------------------------------------------
# Times, periods and datetimes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hhmm"),
    [
        ("下午三点", "15:00"),
        ("下午3点", "15:00"),
        ("上午九点半", "09:30"),
        ("上午9:30", "09:30"),
        ("晚上8点", "20:00"),
        ("晚8点", "20:00"),
        ("今晚8点", "20:00"),
        ("早上7点", "07:00"),
        ("早8点", "08:00"),
        ("中午12点", "12:00"),
        ("中午1点", "13:00"),
        ("凌晨3点", "03:00"),
        ("晚上12点", "00:00"),
        ("晚上11点", "23:00"),
        ("14:30", "14:30"),
        ("１４：３０", "14:30"),
        ("14点30分", "14:30"),
        ("14时30分", "14:30"),
        ("下午3:30", "15:30"),
        ("两点一刻", "14:15"),  # bare 1-6 o'clock is afternoon
        ("两点三刻", "14:45"),
        ("3点", "15:00"),
        ("3:30", "15:30"),
        ("03:30", "03:30"),  # an explicit leading zero is kept
        ("一点半", "13:30"),
        ("一点钟", "13:00"),
        ("下午一点", "13:00"),
        ("九点半", "09:30"),
        ("10点钟", "10:00"),
        ("十点", "10:00"),
        ("12点", "12:00"),
        ("十二点半", "12:30"),
        ("三点十五", "15:15"),
        ("三点零五", "15:05"),
        ("3点5分", "15:05"),
        ("三点整", "15:00"),
        ("3点多", "15:00"),
        ("下午3点到5点", "15:00"),
        ("20点", "20:00"),
        ("0点", "00:00"),
    ],
)
def test_time(text: str, hhmm: str) -> None:
    got = ents(text)
    assert got["time"] == hhmm
    assert "period" not in got


@pytest.mark.parametrize(
    "text",
    [
        "快一点",
        "晚一点回复",
        "早一点来",
        "一点点",
        "有两点建议",
        "这两点很重要",
        "第三点",
        "比分3:2",
        "3小时",
        "一时半会儿",
        "同时",
        "3点5万",
        "几点开会",
        "12.5",
    ],
)
def test_no_time(text: str) -> None:
    assert "time" not in ents(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "周五上午九点",
            {"date": "2026-11-27", "time": "09:00", "datetime": "2026-11-27T09:00"},
        ),
        (
            "明天下午3点",
            {"date": "2026-11-24", "time": "15:00", "datetime": "2026-11-24T15:00"},
        ),
        (
            "今晚8点",
            {"date": "2026-11-23", "time": "20:00", "datetime": "2026-11-23T20:00"},
        ),
        (
            "2026-12-05 14:30",
            {"date": "2026-12-05", "time": "14:30", "datetime": "2026-12-05T14:30"},
        ),
        (
            "12月5日下午两点半",
            {"date": "2026-12-05", "time": "14:30", "datetime": "2026-12-05T14:30"},
        ),
        ("明天下午", {"date": "2026-11-24", "period": "下午"}),
        ("周三上午", {"date": "2026-11-25", "period": "上午"}),
        ("今晚", {"date": "2026-11-23", "period": "晚上"}),
        ("明早", {"date": "2026-11-24", "period": "上午"}),
        ("下午有空吗", {"period": "下午"}),
        ("晚上行不行", {"period": "晚上"}),
        ("中午吧", {"period": "中午"}),
        ("早上", {"period": "上午"}),
        ("下午三点", {"time": "15:00"}),
    ],
)
def test_date_time_period(text: str, expected: dict[str, str]) -> None:
    got = ents(text)
    assert {k: got[k] for k in ("date", "time", "datetime", "period") if k in got} == expected


@pytest.mark.parametrize("text", ["早上好", "晚上好", "下午好", "下午茶", "你好"])
def test_no_period(text: str) -> None:
    assert "period" not in ents(text)


# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("5万元", 50000),
        ("5万", 50000),
        ("欠款5万元", 50000),
        ("五十万", 500000),
        ("3.5万", 35000),
        ("1.2亿", 120000000),
        ("1.2亿元", 120000000),
        ("8000元", 8000),
        ("8千", 8000),
        ("两万五", 25000),
        ("一万五", 15000),
        ("3千5", 3500),
        ("3千5百元", 3500),
        ("两万零五百元", 20500),
        ("10万块", 100000),
        ("300块钱", 300),
        ("100块", 100),
        ("一百五十块", 150),
        ("¥12,000", 12000),
        ("￥12,000", 12000),
        ("¥ 12000", 12000),
        ("人民币12000元", 12000),
        ("12000人民币", 12000),
        ("RMB 5000", 5000),
        ("12,000元", 12000),
        ("１２０００元", 12000),
        ("欠我20万块钱", 200000),
        ("1200元整", 1200),
        ("12.5元", 12.5),
        ("3.25万", 32500),
        ("借款3.5万元什么时候还", 35000),
        ("今年营收1.2亿元，员工300人", 120000000),
    ],
)
def test_money(text: str, amount: float) -> None:
    got = pick(text, "money")
    assert got == amount
    assert type(got) is type(amount)  # int when whole, float otherwise


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",  # a phone
        "TJ20261123001",  # a case number
        "SQ20261123002",
        "12月5日",  # a date
        "2026年12月5日",
        "2026-12-05",
        "下午3点",
        "0771-1234567",
        "12000",  # no unit
        "3.5",
        "第3期",
        "3万人参加",  # a count, not an amount
        "3.5万人",
        "两千平方米",
        "5万平",
        "一万个理由",
        "千万不要",
        "万一不行",
        "百万富翁",
        "一块去吃饭",
        "两块地",
        "十万火急",
        "5w",
        "",
    ],
)
def test_no_money(text: str) -> None:
    assert "money" not in ents(text)


# --------------------------------------------------------------------------------------------
# Case and ticket numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("TJ20261123001", "case_no", "TJ20261123001"),
        ("tj20261123001", "case_no", "TJ20261123001"),
        ("案号TJ20261123001进度如何", "case_no", "TJ20261123001"),
        ("ＴＪ２０２６１１２３００１", "case_no", "TJ20261123001"),
        ("TJ202611230012", "case_no", "TJ202611230012"),
        ("SQ20261123002", "ticket_no", "SQ20261123002"),
        ("sq20261123002", "ticket_no", "SQ20261123002"),
        ("我的申诉单号是Sq20261123002", "ticket_no", "SQ20261123002"),
    ],
)
def test_case_and_ticket(text: str, key: str, value: str) -> None:
    got = ents(text)
    assert got[key] == value
    assert not {"phone", "money", "date", "landline"} & got.keys()


def test_case_and_ticket_together() -> None:
    got = ents("调解TJ20261123001，申诉SQ20261123002")
    assert got["case_no"] == "TJ20261123001"
    assert got["ticket_no"] == "SQ20261123002"


@pytest.mark.parametrize(
    "text", ["TJ2026112300", "TJ20261123", "XTJ20261123001", "TJ-20261123001", "AB20261123001"]
)
def test_no_case(text: str) -> None:
    got = ents(text)
    assert "case_no" not in got and "ticket_no" not in got


# --------------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("我是华兴五金厂的老板", "华兴五金厂"),
        ("和广州某某科技有限公司有笔货款纠纷", "广州某某科技有限公司"),
        ("帮老王商行报名", "老王商行"),
        ("南宁市华兴贸易有限责任公司", "南宁市华兴贸易有限责任公司"),
        ("广西华兴股份有限公司", "广西华兴股份有限公司"),
        ("我在华兴集团上班", "华兴集团"),
        ("替华兴集团有限公司报名", "华兴集团有限公司"),
        ("我们华兴公司想入会", "华兴公司"),
        ("给张记饭店开发票", "张记饭店"),
        ("小李设计工作室", "小李设计工作室"),
        ("跟绿源果蔬合作社签了合同", "绿源果蔬合作社"),
        ("为金桥律师事务所咨询", "金桥律师事务所"),
        ("华兴(广西)科技有限公司", "华兴(广西)科技有限公司"),
        ("ABC贸易有限公司", "ABC贸易有限公司"),
        ("XX科技有限公司南宁分公司", "XX科技有限公司"),
        ("起诉南宁市某某建材有限公司", "南宁市某某建材有限公司"),
        ("与华兴五金店有纠纷", "华兴五金店"),
    ],
)
def test_company(text: str, company: str) -> None:
    assert pick(text, "company") == company


@pytest.mark.parametrize(
    "text",
    [
        "我们公司在南宁",
        "一家公司",
        "贵公司",
        "分公司",
        "开了一家五金店",
        "去酒店",
        "工厂",
        "我是厂长",
        "厂家直销",
        "店里没人",
        "你好",
        "某某公司",
    ],
)
def test_no_company(text: str) -> None:
    assert "company" not in ents(text)


# --------------------------------------------------------------------------------------------
# Training kinds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("想报名新生代培训", "新生代企业家培训班"),
        ("新生代企业家培训班", "新生代企业家培训班"),
        ("年轻一代企业家的班", "新生代企业家培训班"),
        ("青年企业家培训什么时候开", "新生代企业家培训班"),
        ("优秀民营企业家", "优秀民营企业家培训班"),
        ("优秀民营企业家培训班还招人吗", "优秀民营企业家培训班"),
        ("民营企业家培训", "优秀民营企业家培训班"),
        ("入党积极分子培训", "入党积极分子培训班"),
        ("我是入党积极分子", "入党积极分子培训班"),
        ("大讲堂什么时候", "非公经济大讲堂"),
        ("下周有讲座吗", "非公经济大讲堂"),
        ("非公经济大讲堂", "非公经济大讲堂"),
    ],
)
def test_training_kind(text: str, kind: str) -> None:
    assert pick(text, "training_kind") == kind


@pytest.mark.parametrize("text", ["我想入会", "培训", "企业家", "你好"])
def test_no_training_kind(text: str) -> None:
    assert "training_kind" not in ents(text)


# --------------------------------------------------------------------------------------------
# Choice numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        (" 2 ", 2),
        ("２", 2),
        ("2。", 2),
        ("2.", 2),
        ("1、", 1),
        ("10", 10),
        ("第二个", 2),
        ("第2个", 2),
        ("第 2 个", 2),
        ("第三期", 3),
        ("第10期", 10),
        ("选3", 3),
        ("我选第三个", 3),
        ("要第2个", 2),
        ("选择1", 1),
        ("3号", 3),
        ("②", 2),
        ("⑩", 10),
        ("➊", 1),
        ("二", 2),
        ("两个", 2),
        ("十", 10),
        ("第一个吧", 1),
    ],
)
def test_number(text: str, number: int) -> None:
    assert pick(text, "number") == number


@pytest.mark.parametrize(
    "text",
    ["2026", "13800138000", "12.5", "我要报名第二期培训", "两万五", "3万", "第", "你好", ""],
)
def test_no_number(text: str) -> None:
    assert "number" not in ents(text)


def test_n_hao_is_both_number_and_date() -> None:
    # The extractor does not know whether a list or a date was asked for; the form does.
    assert ents("5号") == {"number": 5, "date": "2026-12-05"}


# --------------------------------------------------------------------------------------------
# Person names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我叫张三", "张三"),
        ("我叫张三，想报名", "张三"),
        ("我叫张三想报名", "张三"),
        ("我叫张三明天来", "张三"),
        ("我叫张三电话13800138000", "张三"),
        ("姓名张三", "张三"),
        ("姓名：张三", "张三"),
        ("姓名:张三 电话:13800138000", "张三"),
        ("名字是李四", "李四"),
        ("我的名字是赵六", "赵六"),
        ("名字叫王小明", "王小明"),
        ("我是王五", "王五"),
        ("我是王五，华兴五金厂的", "王五"),
        ("我是张三想报名", "张三"),
        ("我是欧阳娜娜", "欧阳娜娜"),
        ("联系人：刘德华", "刘德华"),
        ("我叫李和平", "李和平"),
        ("我叫王为民", "王为民"),
        ("我叫高兴华", "高兴华"),
    ],
)
def test_person_name(text: str, name: str) -> None:
    assert pick(text, "person_name") == name


@pytest.mark.parametrize(
    "text",
    [
        "我是会员",
        "我是新会员",
        "我是华兴五金厂的老板",
        "我是老王商行的",
        "我是厂长",
        "我是老板",
        "我是江苏人",
        "我是江西的",
        "我是高新区的",
        "我是新来的",
        "我是马上到",
        "我是第一次来",
        "我是想问一下",
        "我是做五金的",
        "我是张总",
        "我叫了外卖",
        "姓名是什么",
        "张三",  # not introduced
        "我是",
    ],
)
def test_no_person_name(text: str) -> None:
    assert "person_name" not in ents(text)


# --------------------------------------------------------------------------------------------
# Whole messages
# --------------------------------------------------------------------------------------------


def test_rich_message() -> None:
    got = ents("案号TJ20261123001，欠款5万元，对方电话13800138000，下周三下午3点调解")
    assert got == {
        "case_no": "TJ20261123001",
        "money": 50000,
        "phone": "13800138000",
        "date": "2026-12-02",
        "time": "15:00",
        "datetime": "2026-12-02T15:00",
    }


def test_registration_message() -> None:
    got = ents("我叫张三，华兴五金厂的，电话138-0013-8000，想报名下周五上午九点的新生代培训")
    assert got == {
        "person_name": "张三",
        "company": "华兴五金厂",
        "phone": "13800138000",
        "date": "2026-12-04",
        "time": "09:00",
        "datetime": "2026-12-04T09:00",
        "training_kind": "新生代企业家培训班",
    }


@pytest.mark.parametrize("text", ["你好", "请问入会需要什么材料", "谢谢", "？", "😀"])
def test_nothing_found(text: str) -> None:
    assert ents(text) == {}


# --------------------------------------------------------------------------------------------
# Robustness and speed
# --------------------------------------------------------------------------------------------

_NOISE_ALPHABET = (
    "0123456789０１２３４５６７８９一二两三四五六七八九十百千万亿号日月年点时分半周星期天"
    "今明后下上午晚元块¥￥.,:-/ ()（）公司厂店行我是叫姓名第TJSQtjsq+＋😀🎉\n\t，。、\x00\u200b"
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t",
        "😀",
        "😀" * 5000,
        "1" * 5000,
        "一" * 5000,
        "万" * 5000,
        "点" * 5000,
        "公司" * 2500,
        "我是" * 2500,
        "我叫" * 2500,
        "1.1." * 1250,
        "13800138000" * 450,
        "\x00" * 100,
        "\ud800",  # a lone surrogate
        "第",
        "号",
        "¥",
        "(",
        "周",
    ],
)
def test_never_raises_and_is_json(text: str) -> None:
    got = extract(text, today=TODAY)
    assert isinstance(got, dict)
    json.dumps(got, ensure_ascii=False)


def test_random_noise() -> None:
    rng = random.Random(20261123)
    for _ in range(60):
        text = "".join(rng.choice(_NOISE_ALPHABET) for _ in range(rng.randint(0, 5000)))
        got = extract(text, today=TODAY)
        json.dumps(got, ensure_ascii=False)
        for key in ("date", "datetime"):
            if key in got:
                datetime.fromisoformat(got[key])


def test_non_string_input() -> None:
    assert extract(None, today=TODAY) == {}  # type: ignore[arg-type]


def test_long_input_is_cut() -> None:
    padding = "啊" * MAX_CHARS
    assert extract("13800138000" + padding, today=TODAY)["phone"] == "13800138000"
    assert "phone" not in extract(padding + "13800138000", today=TODAY)


def test_fast_enough() -> None:
    messages = [
        "案号TJ20261123001，欠款5万元，对方电话13800138000，下周三下午3点调解",
        "我是华兴五金厂的老板，和广州某某科技有限公司有笔货款纠纷",
        "我叫张三，电话138-0013-8000，想咨询一下会费怎么交",
        "周五上午九点在商会开会吗？",
        "请问入会需要什么材料",
        "2",
    ]
    rounds = 200
    start = time.process_time()
    for _ in range(rounds):
        for message in messages:
            extract(message, today=TODAY)
    per_message = (time.process_time() - start) / (rounds * len(messages))
    # Typically ~30 µs of CPU; the bound leaves room for slow, shared CI machines.
    assert per_message < 0.002


@pytest.mark.parametrize(
    "text,yuan,said",
    [
        ("对方欠我大概20万", "200000", "大概20万"),
        ("金额12.5万元", "125000", "12.5万元"),
        ("将近20万左右吧", "200000", "将近20万左右"),
        ("欠款两万五千块", "25000", "两万五千块"),
        ("人民币3000元整", "3000", "人民币3000元"),
        ("约1.5元", "1.5", "约1.5元"),
    ],
)
def test_money_with_the_words_the_member_used(text, yuan, said):
    assert money_with_text(text) == (Decimal(yuan), said)


def test_money_with_text_needs_a_unit():
    assert money_with_text("20") is None and money_with_text("来了3万人") is None


@pytest.mark.parametrize(
    "text,number", [("2", 2), ("第二个", 2), ("选3", 3), ("②", 2), ("第九期新生代", None)]
)
def test_a_pick_is_the_whole_message(text, number):
    assert choice_number(text) == number


@pytest.mark.parametrize(
    ("text", "money"),
    [("投资大概两个亿", 200_000_000), ("2个亿", 200_000_000), ("一个亿的项目", 100_000_000)],
)
def test_an_amount_said_with_ge(text, money):
    # "两个亿" is how an investment is said; "几个亿" names no number, "三个人" no money.
    assert extract(text, today=date(2026, 12, 1)).get("money") == money


@pytest.mark.parametrize("text", ["几个亿", "这个亿", "三个人", "两个万人"])
def test_ge_without_a_number_or_unit_is_no_amount(text):
    assert "money" not in extract(text, today=date(2026, 12, 1))
