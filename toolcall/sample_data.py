"""A deterministic generator of glaive-format Chinese tool-calling conversations.

The bundled sample (`data/sample/glaive_toolcall_zh_sample.json`) is written by this
module, so the pipeline and its tests run offline without the public data set. Nothing
here is copied from the public glaive files: tools, phrasings and values are our own.

Each row has glaive's shape: `conversations` (a list of `{from, value}` with `from` in
human / gpt / function_call / observation) and `tools` (a JSON *string* of bare
`{name, description, parameters}` schemas, or "[]").
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass

# Large pools and several phrasings per tool: values must be copied from the request,
# not guessed from a handful seen in training, and few conversations are near-duplicates.
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆", "天津",
          "苏州", "长沙", "郑州", "青岛", "沈阳", "大连", "厦门", "福州", "济南", "合肥", "昆明",
          "贵阳", "南宁", "海口", "三亚", "兰州", "银川", "西宁", "拉萨", "乌鲁木齐", "呼和浩特",
          "哈尔滨", "长春", "石家庄", "太原", "南昌", "宁波", "无锡", "珠海", "佛山", "东莞",
          "温州", "桂林", "洛阳", "扬州", "绍兴", "烟台"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾田董")
GIVEN_NAMES = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
               "涛", "明", "超", "华", "慧", "建国", "晓东", "子涵", "雨桐", "浩然", "欣怡",
               "思远", "嘉怡", "宇轩", "一鸣", "梓萱", "文博", "佳琪"]
EMAIL_USERS = ["zhangwei", "wangfang", "lina", "liuyang", "chenjing", "yanglei", "zhaomin",
               "huangyong", "sunli", "zhouxun", "wuhao", "xuming", "hejia", "guoqiang",
               "linfeng", "luoyi", "gaoyuan", "zhengkai", "liangyu", "xiechen"]
EMAIL_DOMAINS = ["example.com", "example.cn", "example.org", "mail.example.net", "corp.example.com"]
RESTAURANTS = ["海底捞", "全聚德", "外婆家", "绿茶餐厅", "鼎泰丰", "西贝莜面村", "大董", "南京大牌档",
               "眉州东坡", "小龙坎", "太二酸菜鱼", "九毛九", "湘鄂情", "点都德", "陶陶居", "新白鹿",
               "云海肴", "望湘园", "胡大饭馆", "巴奴毛肚火锅"]
STOCKS = {"AAPL": "苹果", "MSFT": "微软", "TSLA": "特斯拉", "BABA": "阿里巴巴", "NVDA": "英伟达",
          "GOOGL": "谷歌", "AMZN": "亚马逊", "META": "Meta", "JD": "京东", "PDD": "拼多多",
          "NIO": "蔚来", "BIDU": "百度", "NTES": "网易", "TCEHY": "腾讯", "INTC": "英特尔",
          "AMD": "超威半导体"}
GENRES = ["动作", "喜剧", "科幻", "爱情", "悬疑", "动画", "纪录", "恐怖", "战争", "家庭"]
LANGUAGES = ["英语", "日语", "法语", "德语", "韩语", "西班牙语", "俄语", "意大利语"]
CAR_TYPES = ["经济型", "舒适型", "商务型"]
CURRENCIES = ["人民币", "美元", "欧元", "日元", "英镑", "港币", "韩元", "澳元"]
PHRASES = ["今天天气很好", "我们明天见", "谢谢你的帮助", "这本书非常有意思", "请把门关上",
           "会议改到下午三点", "我想预订一个房间", "这道菜有点辣", "火车晚点了半小时",
           "祝你旅途愉快", "请问洗手间在哪里", "我对花生过敏", "周末一起去爬山吧",
           "这个价格可以便宜一点吗", "我的手机没电了", "明天早上八点出发", "欢迎来到中国",
           "请慢一点说", "我迷路了", "生日快乐"]
PLACES = ["火车站", "机场", "公司", "家", "酒店", "体育馆", "医院", "图书馆", "人民广场",
          "会展中心", "大学城", "高铁南站", "市政府", "博物馆", "万达广场", "科技园"]
SUBJECTS = ["会议纪要", "项目进度", "周末聚餐", "请假申请", "季度报告", "合同草稿", "面试安排",
            "出差行程", "预算审批", "培训通知", "产品发布", "客户反馈"]
BODIES = ["请查收附件。", "明天上午十点开会。", "我下周一请假一天。", "报告已经更新，请审阅。",
          "合同需要在周五前签字。", "面试改到周三下午。", "本月预算超支了百分之五。",
          "培训地点在三楼会议室。", "新版本今晚上线。", "客户对方案很满意。"]
EVENT_TITLES = ["周会", "产品评审", "客户拜访", "生日聚会", "技术分享", "年度总结", "团队建设",
                "预算会议", "招聘面试", "项目启动会", "牙医预约", "家长会"]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def _email_address(rng: random.Random) -> str:
    user = rng.choice(EMAIL_USERS) + (str(rng.randint(1, 99)) if rng.random() < 0.4 else "")
    return f"{user}@{rng.choice(EMAIL_DOMAINS)}"


def _date(rng: random.Random) -> str:
    return f"{rng.choice([2025, 2026])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


@dataclass(frozen=True)
class ToolCase:
    """One generated use of a tool: what the user asks and what follows."""

    ask: str
    arguments: dict
    result: dict
    answer: str


@dataclass(frozen=True)
class Tool:
    schema: dict
    make_case: Callable[[random.Random], ToolCase]
    vague_ask: str  # a request that lacks the first required argument
    clarify: str  # the assistant's question for it


def _weather(rng: random.Random) -> ToolCase:
    city = rng.choice(CITIES)
    unit = rng.choice(["摄氏度", "华氏度"])
    temp = rng.randint(-15, 38) if unit == "摄氏度" else rng.randint(5, 100)
    cond = rng.choice(["晴", "多云", "小雨", "阴", "大雨", "小雪", "雾"])
    args = {"city": city} if rng.random() < 0.4 else {"city": city, "unit": unit}
    shown_unit = args.get("unit", "摄氏度")
    ask = rng.choice([f"{city}现在天气怎么样？", f"帮我查一下{city}的天气。", f"{city}今天冷不冷？",
                      f"我想知道{city}的实时天气。"])
    return ToolCase(
        ask=ask + (rng.choice([f"用{unit}表示。", f"温度请用{unit}。"]) if "unit" in args else ""),
        arguments=args,
        result={"city": city, "temperature": temp, "condition": cond},
        answer=rng.choice([f"{city}现在{cond}，气温{temp}{shown_unit}。",
                           f"{city}当前天气{cond}，温度为{temp}{shown_unit}。"]),
    )


def _currency(rng: random.Random) -> ToolCase:
    amount = rng.choice([rng.randint(10, 50000), round(rng.uniform(1, 9999), 2)])
    src, dst = rng.sample(CURRENCIES, 2)
    converted = round(amount * rng.uniform(0.05, 9.5), 2)
    return ToolCase(
        ask=rng.choice([f"请把{amount}{src}换算成{dst}。", f"{amount}{src}能换多少{dst}？",
                        f"帮我算一下{amount}{src}等于多少{dst}。"]),
        arguments={"amount": amount, "from_currency": src, "to_currency": dst},
        result={"converted_amount": converted, "currency": dst},
        answer=f"{amount}{src}大约等于{converted}{dst}。",
    )


def _restaurant(rng: random.Random) -> ToolCase:
    name = rng.choice(RESTAURANTS)
    people = rng.randint(1, 20)
    day = _date(rng)
    args = {"restaurant": name, "people": people, "date": day}
    parking_text = ""
    if rng.random() < 0.6:
        args["need_parking"] = rng.random() < 0.5
        parking_text = "需要停车位。" if args["need_parking"] else "不需要停车位。"
    return ToolCase(
        ask=rng.choice([f"帮我在{name}订{day}的位子，一共{people}个人。",
                        f"我想订{day}{name}的座位，{people}位。"]) + parking_text,
        arguments=args,
        result={"status": "confirmed", "booking_id": f"R{rng.randint(1000, 9999)}"},
        answer=f"已为您在{name}预订{day}的{people}人座位，预订成功。",
    )


def _bmi(rng: random.Random) -> ToolCase:
    weight = rng.choice([rng.randint(40, 110), round(rng.uniform(40, 110), 1)])
    height = round(rng.uniform(1.45, 1.95), 2)
    bmi = round(weight / height**2, 1)
    return ToolCase(
        ask=rng.choice([f"我体重{weight}公斤，身高{height}米，帮我算一下BMI。",
                        f"身高{height}米、体重{weight}公斤的人BMI是多少？",
                        f"帮我算BMI：{weight}公斤，{height}米。"]),
        arguments={"weight_kg": weight, "height_m": height},
        result={"bmi": bmi},
        answer=f"您的BMI是{bmi}。",
    )


def _email(rng: random.Random) -> ToolCase:
    to = _email_address(rng)
    subject = rng.choice(SUBJECTS)
    body = rng.choice(BODIES)
    args = {"recipient": to, "subject": subject, "body": body}
    cc_text = ""
    if rng.random() < 0.4:
        args["cc"] = [_email_address(rng) for _ in range(rng.randint(1, 2))]
        cc_text = f"并抄送给{'和'.join(args['cc'])}"
    return ToolCase(
        ask=rng.choice([f"给{to}发一封邮件，主题是“{subject}”，内容是“{body}”{cc_text}。",
                        f"帮我写封邮件发到{to}，标题“{subject}”，正文“{body}”{cc_text}。"]),
        arguments=args,
        result={"status": "sent"},
        answer=f"邮件已发送给{to}。",
    )


def _calendar(rng: random.Random) -> ToolCase:
    title = rng.choice(EVENT_TITLES)
    start = f"{_date(rng)} {rng.randint(8, 20):02d}:{rng.choice(['00', '15', '30', '45'])}"
    attendees = [_person(rng) for _ in range(rng.randint(1, 3))]
    args = {"title": title, "start": start, "attendees": attendees}
    reminder_text = ""
    if rng.random() < 0.6:
        minutes = rng.choice([5, 10, 15, 20, 30, 45, 60])
        method = rng.choice(["短信", "邮件", "弹窗"])
        args["reminder"] = {"minutes_before": minutes, "method": method}
        reminder_text = f"，提前{minutes}分钟用{method}提醒我"
    return ToolCase(
        ask=f"帮我创建一个“{title}”日程，时间{start}，参加人有{'、'.join(attendees)}{reminder_text}。",
        arguments=args,
        result={"event_id": f"E{rng.randint(100, 999)}", "status": "created"},
        answer=f"“{title}”日程已创建，时间是{start}。",
    )


def _movies(rng: random.Random) -> ToolCase:
    year = rng.randint(1980, 2025)
    args: dict = {"year": year}
    if rng.random() < 0.7:
        args["genres"] = rng.sample(GENRES, rng.randint(1, 2))
        ask = rng.choice([f"推荐几部{year}年的{'或'.join(args['genres'])}电影。",
                          f"{year}年上映的{'和'.join(args['genres'])}片有哪些？"])
    else:
        ask = rng.choice([f"推荐几部{year}年的电影。", f"{year}年有什么好看的电影？"])
    titles = rng.sample(["星际远航", "城市之光", "雨夜", "追风者", "小王子", "迷雾", "归途",
                         "深海", "长夜", "白昼"], 2)
    return ToolCase(
        ask=ask,
        arguments=args,
        result={"movies": titles},
        answer=f"为您找到：《{titles[0]}》和《{titles[1]}》。",
    )


def _translate(rng: random.Random) -> ToolCase:
    text = rng.choice(PHRASES)
    lang = rng.choice(LANGUAGES)
    return ToolCase(
        ask=rng.choice([f"把“{text}”翻译成{lang}。", f"“{text}”用{lang}怎么说？"]),
        arguments={"text": text, "target_language": lang},
        result={"translation": f"[{lang}] {text}"},
        answer=f"翻译结果是：[{lang}] {text}。",
    )


def _loan(rng: random.Random) -> ToolCase:
    principal = rng.randint(5, 300) * 10000
    rate = round(rng.uniform(2.5, 6.0), 2)
    years = rng.choice([3, 5, 10, 15, 20, 25, 30])
    payment = round(principal * (rate / 1200) / (1 - (1 + rate / 1200) ** (-12 * years)), 2)
    return ToolCase(
        ask=rng.choice([f"贷款{principal}元，年利率{rate}%，贷{years}年，每月要还多少？",
                        f"我想贷{principal}元，期限{years}年，年利率{rate}%，月供是多少？"]),
        arguments={"principal": principal, "annual_rate": rate, "years": years},
        result={"monthly_payment": payment},
        answer=f"每月还款约为{payment}元。",
    )


def _stock(rng: random.Random) -> ToolCase:
    symbol, name = rng.choice(sorted(STOCKS.items()))
    price = round(rng.uniform(5, 900), 2)
    return ToolCase(
        ask=rng.choice([f"{name}（{symbol}）现在的股价是多少？", f"帮我查一下{symbol}的最新股价。",
                        f"股票代码{symbol}现在多少钱一股？"]),
        arguments={"symbol": symbol},
        result={"symbol": symbol, "price": price},
        answer=f"{symbol}的最新股价是{price}美元。",
    )


def _taxi(rng: random.Random) -> ToolCase:
    pickup, dest = rng.sample(PLACES, 2)
    args = {"pickup": pickup, "destination": dest}
    car_text = "一辆车"
    if rng.random() < 0.6:
        args["car_type"] = rng.choice(CAR_TYPES)
        car_text = f"一辆{args['car_type']}的车"
    return ToolCase(
        ask=rng.choice([f"帮我叫{car_text}，从{pickup}到{dest}。",
                        f"我要从{pickup}去{dest}，帮我叫{car_text}。"]),
        arguments=args,
        result={"driver": _person(rng), "eta_minutes": rng.randint(2, 15)},
        answer=f"已为您叫到车辆，从{pickup}前往{dest}。",
    )


def _schema(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required},
    }


def _prop(type_: str, description: str, **extra) -> dict:
    return {"type": type_, "description": description, **extra}


TOOLS: list[Tool] = [
    Tool(
        _schema(
            "get_weather",
            "查询指定城市的实时天气",
            {
                "city": _prop("string", "城市名称"),
                "unit": _prop("string", "温度单位", enum=["摄氏度", "华氏度"]),
            },
            ["city"],
        ),
        _weather,
        "帮我查一下天气。",
        "请问您想查询哪个城市的天气？",
    ),
    Tool(
        _schema(
            "convert_currency",
            "按实时汇率换算货币金额",
            {
                "amount": _prop("number", "金额"),
                "from_currency": _prop("string", "原货币"),
                "to_currency": _prop("string", "目标货币"),
            },
            ["amount", "from_currency", "to_currency"],
        ),
        _currency,
        "我想换点外币。",
        "请问您要换算多少金额，从哪种货币换成哪种货币？",
    ),
    Tool(
        _schema(
            "book_restaurant",
            "预订餐厅座位",
            {
                "restaurant": _prop("string", "餐厅名称"),
                "people": _prop("integer", "用餐人数"),
                "date": _prop("string", "日期，格式为YYYY-MM-DD"),
                "need_parking": _prop("boolean", "是否需要停车位"),
            },
            ["restaurant", "people", "date"],
        ),
        _restaurant,
        "我想订个餐厅。",
        "请问您想订哪家餐厅、哪天、几位用餐？",
    ),
    Tool(
        _schema(
            "calculate_bmi",
            "根据体重和身高计算身体质量指数",
            {"weight_kg": _prop("number", "体重（公斤）"), "height_m": _prop("number", "身高（米）")},
            ["weight_kg", "height_m"],
        ),
        _bmi,
        "帮我算一下BMI。",
        "好的，请告诉我您的体重（公斤）和身高（米）。",
    ),
    Tool(
        _schema(
            "send_email",
            "发送电子邮件",
            {
                "recipient": _prop("string", "收件人邮箱"),
                "subject": _prop("string", "邮件主题"),
                "body": _prop("string", "邮件正文"),
                "cc": _prop("array", "抄送邮箱列表", items={"type": "string"}),
            },
            ["recipient", "subject", "body"],
        ),
        _email,
        "帮我发一封邮件。",
        "请提供收件人邮箱、邮件主题和正文内容。",
    ),
    Tool(
        _schema(
            "create_calendar_event",
            "在日历中创建日程",
            {
                "title": _prop("string", "日程标题"),
                "start": _prop("string", "开始时间，格式为YYYY-MM-DD HH:MM"),
                "attendees": _prop("array", "参加人", items={"type": "string"}),
                "reminder": _prop(
                    "object",
                    "提醒设置",
                    properties={
                        "minutes_before": _prop("integer", "提前多少分钟"),
                        "method": _prop("string", "提醒方式", enum=["短信", "邮件", "弹窗"]),
                    },
                ),
            },
            ["title", "start"],
        ),
        _calendar,
        "帮我加一个日程。",
        "请问日程的标题和开始时间是什么？",
    ),
    Tool(
        _schema(
            "search_movies",
            "按年份和类型搜索电影",
            {
                "year": _prop("integer", "上映年份"),
                "genres": _prop("array", "电影类型", items={"type": "string", "enum": GENRES}),
            },
            ["year"],
        ),
        _movies,
        "给我推荐点电影。",
        "请问您想看哪一年上映的电影？喜欢什么类型？",
    ),
    Tool(
        _schema(
            "translate_text",
            "把文本翻译成目标语言",
            {
                "text": _prop("string", "要翻译的文本"),
                "target_language": _prop("string", "目标语言", enum=LANGUAGES),
            },
            ["text", "target_language"],
        ),
        _translate,
        "帮我翻译一句话。",
        "请问要翻译的内容是什么，翻译成哪种语言？",
    ),
    Tool(
        _schema(
            "calculate_loan_payment",
            "计算等额本息贷款的月供",
            {
                "principal": _prop("number", "贷款本金（元）"),
                "annual_rate": _prop("number", "年利率（百分比）"),
                "years": _prop("integer", "贷款年限"),
            },
            ["principal", "annual_rate", "years"],
        ),
        _loan,
        "帮我算算房贷。",
        "请告诉我贷款本金、年利率和贷款年限。",
    ),
    Tool(
        _schema(
            "get_stock_price",
            "查询股票的最新价格",
            {"symbol": _prop("string", "股票代码，例如AAPL")},
            ["symbol"],
        ),
        _stock,
        "帮我查个股价。",
        "请问您想查询哪只股票？请提供股票代码。",
    ),
    Tool(
        _schema(
            "order_taxi",
            "叫出租车",
            {
                "pickup": _prop("string", "上车地点"),
                "destination": _prop("string", "目的地"),
                "car_type": _prop("string", "车型", enum=CAR_TYPES),
            },
            ["pickup", "destination"],
        ),
        _taxi,
        "我要叫车。",
        "请问您从哪里出发，要去哪里？",
    ),
]

CHITCHAT = [
    ("你好！", "你好！有什么可以帮您的吗？"),
    ("给我讲个笑话吧。", "为什么数学书总是很忧郁？因为它有太多的问题。"),
    ("天空为什么是蓝色的？", "因为大气对短波长的蓝光散射更强，所以天空看起来是蓝色的。"),
    ("推荐一本适合周末读的书。", "可以试试《小王子》，篇幅不长，适合周末慢慢读。"),
    ("怎样才能睡得更好？", "保持规律作息，睡前少看手机，避免喝咖啡，都有助于睡眠。"),
    ("一年有多少天？", "平年有365天，闰年有366天。"),
    ("水的沸点是多少？", "在标准大气压下，水的沸点是100摄氏度。"),
    ("帮我想一个生日祝福。", "祝你生日快乐，愿新的一岁平安喜乐、心想事成！"),
    ("地球到月球有多远？", "平均距离约为38万公里。"),
    ("怎么学好英语？", "多听多说，每天坚持阅读和背单词，找机会和别人练习对话。"),
    ("熊猫吃什么？", "大熊猫主要吃竹子，偶尔也吃少量其他植物。"),
    ("早餐吃什么比较健康？", "可以吃全麦面包、鸡蛋、牛奶和水果，营养比较均衡。"),
    ("一周有几天？", "一周有七天。"),
    ("长城有多长？", "明长城全长约8851.8公里。"),
    ("推荐一个放松的方法。", "可以试试深呼吸或者散步十分钟，能帮助放松心情。"),
    ("你叫什么名字？", "我是一个人工智能助手，很高兴为您服务。"),
]
THANKS = [("谢谢！", "不客气，还有其他需要随时告诉我。"), ("好的，明白了。", "很高兴能帮到您！"),
          ("太好了，谢谢你。", "不用谢，祝您一切顺利！"), ("收到。", "好的，有需要再找我。")]
OFF_TOPIC = ["帮我订一张去巴黎的机票。", "帮我点一份披萨外卖。", "帮我写一首关于秋天的诗。",
             "帮我预约明天的理发。", "帮我查一下快递到哪了。", "帮我买两张电影票。",
             "帮我打开客厅的灯。", "帮我挂一个明天的专家号。"]


def _turn(role: str, value: str) -> dict:
    return {"from": role, "value": value}


def _call_turns(case: ToolCase, name: str) -> list[dict]:
    call = {"name": name, "arguments": case.arguments}
    return [
        _turn("function_call", json.dumps(call, ensure_ascii=False)),
        _turn("observation", json.dumps(case.result, ensure_ascii=False)),
        _turn("gpt", case.answer),
    ]


def make_conversation(rng: random.Random) -> dict:
    """One glaive-format row of a randomly chosen kind."""
    kind = rng.choices(
        ["call", "call_then_chat", "two_calls", "clarify_then_call", "decline", "no_tools"],
        weights=[30, 15, 15, 12, 13, 15],
    )[0]
    if kind == "no_tools":
        turns = []
        for ask, reply in rng.sample(CHITCHAT, rng.randint(1, 2)):
            turns += [_turn("human", ask), _turn("gpt", reply)]
        return {"conversations": turns, "tools": rng.choice(["[]", ""])}

    offered = rng.sample(TOOLS, rng.randint(1, 2))
    tool = offered[0]
    name = tool.schema["name"]
    tools_json = json.dumps([t.schema for t in offered], ensure_ascii=False)
    if kind == "decline":
        own = "、".join(t.schema["description"] for t in offered)
        ask = rng.choice(OFF_TOPIC)
        reply = f"抱歉，我无法完成这个请求。我目前只能帮您{own}。"
        return {"conversations": [_turn("human", ask), _turn("gpt", reply)], "tools": tools_json}

    case = tool.make_case(rng)
    if kind == "clarify_then_call":
        turns = [_turn("human", tool.vague_ask), _turn("gpt", tool.clarify)]
        turns += [_turn("human", case.ask), *_call_turns(case, name)]
    else:
        turns = [_turn("human", case.ask), *_call_turns(case, name)]
    if kind == "call_then_chat":
        turns += [_turn(*pair) for pair in zip(("human", "gpt"), rng.choice(THANKS), strict=True)]
    if kind == "two_calls":
        second_tool = rng.choice(offered)
        second = second_tool.make_case(rng)
        turns += [_turn("human", second.ask), *_call_turns(second, second_tool.schema["name"])]
    return {"conversations": turns, "tools": tools_json}


def make_sample(num_conversations: int, seed: int) -> list[dict]:
    """The bundled sample: `num_conversations` rows, the same for the same seed."""
    rng = random.Random(seed)
    return [make_conversation(rng) for _ in range(num_conversations)]


SAMPLE_PATH = "data/sample/glaive_toolcall_zh_sample.json"
SAMPLE_SIZE = 400
SAMPLE_SEED = 20241128


def write_sample(path: str = SAMPLE_PATH) -> None:
    """Regenerate the bundled sample (a test checks the committed file matches)."""
    rows = make_sample(SAMPLE_SIZE, SAMPLE_SEED)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    write_sample()
