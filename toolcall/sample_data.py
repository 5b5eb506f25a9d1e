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

CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆"]
PEOPLE = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"]
EMAILS = ["zhangwei@example.com", "wangfang@example.cn", "lina@example.org", "liuyang@example.com"]
RESTAURANTS = ["海底捞", "全聚德", "外婆家", "绿茶餐厅", "鼎泰丰", "西贝莜面村"]
STOCKS = {"AAPL": "苹果", "MSFT": "微软", "TSLA": "特斯拉", "BABA": "阿里巴巴", "NVDA": "英伟达"}
GENRES = ["动作", "喜剧", "科幻", "爱情", "悬疑", "动画"]
LANGUAGES = ["英语", "日语", "法语", "德语", "韩语"]
CAR_TYPES = ["经济型", "舒适型", "商务型"]
PHRASES = ["今天天气很好", "我们明天见", "谢谢你的帮助", "这本书非常有意思", "请把门关上"]


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
    temp = rng.randint(-5, 36) if unit == "摄氏度" else rng.randint(30, 95)
    cond = rng.choice(["晴", "多云", "小雨", "阴"])
    args = {"city": city} if rng.random() < 0.4 else {"city": city, "unit": unit}
    shown_unit = args.get("unit", "摄氏度")
    return ToolCase(
        ask=rng.choice([f"{city}现在天气怎么样？", f"帮我查一下{city}的天气。"])
        + (f"用{unit}表示。" if "unit" in args else ""),
        arguments=args,
        result={"city": city, "temperature": temp, "condition": cond},
        answer=f"{city}现在{cond}，气温{temp}{shown_unit}。",
    )


def _currency(rng: random.Random) -> ToolCase:
    amount = rng.choice([100, 250, 500, 1200, 99.5, 3000])
    src, dst = rng.sample(["人民币", "美元", "欧元", "日元"], 2)
    converted = round(amount * rng.uniform(0.1, 7.5), 2)
    return ToolCase(
        ask=f"请把{amount}{src}换算成{dst}。",
        arguments={"amount": amount, "from_currency": src, "to_currency": dst},
        result={"converted_amount": converted, "currency": dst},
        answer=f"{amount}{src}大约等于{converted}{dst}。",
    )


def _restaurant(rng: random.Random) -> ToolCase:
    name = rng.choice(RESTAURANTS)
    people = rng.randint(2, 10)
    day = f"2025-0{rng.randint(1, 9)}-{rng.randint(10, 28)}"
    parking = rng.random() < 0.5
    return ToolCase(
        ask=f"帮我在{name}订{day}的位子，一共{people}个人，"
        + ("需要停车位。" if parking else "不需要停车位。"),
        arguments={"restaurant": name, "people": people, "date": day, "need_parking": parking},
        result={"status": "confirmed", "booking_id": f"R{rng.randint(1000, 9999)}"},
        answer=f"已为您在{name}预订{day}的{people}人座位，预订成功。",
    )


def _bmi(rng: random.Random) -> ToolCase:
    weight = rng.choice([55, 62.5, 70, 81, 95])
    height = rng.choice([1.6, 1.68, 1.75, 1.82])
    bmi = round(weight / height**2, 1)
    return ToolCase(
        ask=f"我体重{weight}公斤，身高{height}米，帮我算一下BMI。",
        arguments={"weight_kg": weight, "height_m": height},
        result={"bmi": bmi},
        answer=f"您的BMI是{bmi}。",
    )


def _email(rng: random.Random) -> ToolCase:
    to = rng.choice(EMAILS)
    subject = rng.choice(["会议纪要", "项目进度", "周末聚餐", "请假申请"])
    body = rng.choice(["请查收附件。", "明天上午十点开会。", "我下周一请假一天。"])
    args = {"recipient": to, "subject": subject, "body": body}
    cc_text = ""
    if rng.random() < 0.5:
        args["cc"] = rng.sample(EMAILS, 2)
        cc_text = f"并抄送给{args['cc'][0]}和{args['cc'][1]}"
    return ToolCase(
        ask=f"给{to}发一封邮件，主题是“{subject}”，内容是“{body}”{cc_text}。",
        arguments=args,
        result={"status": "sent"},
        answer=f"邮件已发送给{to}。",
    )


def _calendar(rng: random.Random) -> ToolCase:
    title = rng.choice(["周会", "产品评审", "客户拜访", "生日聚会"])
    start = f"2025-1{rng.randint(0, 2)}-0{rng.randint(1, 9)} {rng.randint(9, 18)}:00"
    attendees = rng.sample(PEOPLE, rng.randint(1, 3))
    minutes = rng.choice([5, 10, 15, 30])
    method = rng.choice(["短信", "邮件", "弹窗"])
    return ToolCase(
        ask=f"帮我创建一个“{title}”日程，时间{start}，参加人有{'、'.join(attendees)}，"
        f"提前{minutes}分钟用{method}提醒我。",
        arguments={
            "title": title,
            "start": start,
            "attendees": attendees,
            "reminder": {"minutes_before": minutes, "method": method},
        },
        result={"event_id": f"E{rng.randint(100, 999)}", "status": "created"},
        answer=f"“{title}”日程已创建，将提前{minutes}分钟通过{method}提醒您。",
    )


def _movies(rng: random.Random) -> ToolCase:
    genres = rng.sample(GENRES, rng.randint(1, 2))
    year = rng.randint(1995, 2024)
    titles = rng.sample(["星际远航", "城市之光", "雨夜", "追风者", "小王子", "迷雾"], 2)
    return ToolCase(
        ask=f"推荐几部{year}年的{'或'.join(genres)}电影。",
        arguments={"year": year, "genres": genres},
        result={"movies": titles},
        answer=f"为您找到：《{titles[0]}》和《{titles[1]}》。",
    )


def _translate(rng: random.Random) -> ToolCase:
    text = rng.choice(PHRASES)
    lang = rng.choice(LANGUAGES)
    return ToolCase(
        ask=f"把“{text}”翻译成{lang}。",
        arguments={"text": text, "target_language": lang},
        result={"translation": f"[{lang}] {text}"},
        answer=f"翻译结果是：[{lang}] {text}。",
    )


def _loan(rng: random.Random) -> ToolCase:
    principal = rng.choice([100000, 200000, 500000, 1000000])
    rate = rng.choice([3.1, 3.85, 4.2, 4.9])
    years = rng.choice([5, 10, 20, 30])
    payment = round(principal * (rate / 1200) / (1 - (1 + rate / 1200) ** (-12 * years)), 2)
    return ToolCase(
        ask=f"贷款{principal}元，年利率{rate}%，贷{years}年，每月要还多少？",
        arguments={"principal": principal, "annual_rate": rate, "years": years},
        result={"monthly_payment": payment},
        answer=f"每月还款约为{payment}元。",
    )


def _stock(rng: random.Random) -> ToolCase:
    symbol, name = rng.choice(sorted(STOCKS.items()))
    price = round(rng.uniform(50, 900), 2)
    return ToolCase(
        ask=f"{name}（{symbol}）现在的股价是多少？",
        arguments={"symbol": symbol},
        result={"symbol": symbol, "price": price},
        answer=f"{name}的最新股价是{price}美元。",
    )


def _taxi(rng: random.Random) -> ToolCase:
    pickup, dest = rng.sample(["火车站", "机场", "公司", "家", "酒店", "体育馆"], 2)
    car = rng.choice(CAR_TYPES)
    return ToolCase(
        ask=f"帮我叫一辆{car}的车，从{pickup}到{dest}。",
        arguments={"pickup": pickup, "destination": dest, "car_type": car},
        result={"driver": rng.choice(PEOPLE), "eta_minutes": rng.randint(2, 15)},
        answer=f"已为您叫到{car}车辆，从{pickup}前往{dest}。",
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
]
THANKS = [("谢谢！", "不客气，还有其他需要随时告诉我。"), ("好的，明白了。", "很高兴能帮到您！")]
OFF_TOPIC = ["帮我订一张去巴黎的机票。", "帮我点一份披萨外卖。", "帮我写一首关于秋天的诗。"]


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
