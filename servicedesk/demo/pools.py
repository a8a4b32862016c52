"""Word pools the demo generator draws from: names, products, faults and ticket texts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SURNAMES = words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 "
    "彭 曾 肖 田 董 袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 "
    "石 廖 贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾 毛 郝 龚 邵 "
    "万 钱 严 覃 武 戴 莫 孔 向 汤 欧阳 司马"
)
GIVEN_NAME_CHARACTERS = words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华 玉 萍 红 建 文 辉 "
    "宇 浩 鑫 婷 雪 琳 晨 晓 欣 怡 佳 嘉 俊 鹏 飞 博 然 颖 倩 思 梓 睿 子 轩 涵 宁 海 峰 波 "
    "斌 凯 丹 蕾 璐 瑶 志 国 春 荣 彬 昊 天 一 心 雨 诗 悦 航 泽 阳"
)
ENGLISH_GIVEN_NAMES = words(
    "James Michael David Daniel Thomas Robert Oliver Lucas Emma Olivia Sophia Anna Laura "
    "Sarah Julia Hannah Peter Mark Paul Kevin Chris Jennifer Maria Elena"
)
ENGLISH_SURNAMES = words(
    "Smith Johnson Miller Brown Wilson Taylor Anderson Thomas Moore Martin Schmidt Müller "
    "Fischer Dubois Rossi Tanaka Suzuki Kim Park Nguyen Clarke Walker Hughes Evans"
)

CONTACT_TITLES = (
    "IT经理",
    "信息中心主任",
    "运维工程师",
    "网络管理员",
    "采购经理",
    "行政主管",
    "总经理助理",
    "财务总监",
    "技术负责人",
    "办公室主任",
)
ENGLISH_CONTACT_TITLES = (
    "IT Manager",
    "Facilities Manager",
    "Procurement Lead",
    "Office Manager",
    "Systems Administrator",
)

#: Trade names (字号) for companies and service providers.
TRADE_NAMES = words(
    "华信 中科 恒通 远航 金石 瑞达 博远 天成 鼎盛 宏图 新纪元 联创 同方 汇智 启明 长城 "
    "东方 星河 云帆 海纳 正泰 德润 嘉禾 思源 华晨 卓越 方圆 宏达 腾飞 众诚 安信 百川 "
    "千禧 明德 信达 兴业 九州 华夏 泰和 锦程 智汇 鸿运 润泽 凯旋 立信 景程 合众 中盛"
)
INDUSTRIES = (
    "科技",
    "信息技术",
    "电子",
    "软件",
    "数据",
    "网络",
    "智能制造",
    "物流",
    "医药",
    "能源",
    "建设",
    "贸易",
    "咨询",
    "教育科技",
    "精密机械",
    "新材料",
    "文化传媒",
    "汽车零部件",
)
COMPANY_SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司")
#: Key accounts: public bodies, hospitals, universities, banks and large groups.
KEY_ACCOUNT_PATTERNS = (
    "{city}市人民医院",
    "{city}市第{n}人民医院",
    "{city}市中心医院",
    "{city}市公安局",
    "{city}市税务局",
    "{city}市政务服务数据管理局",
    "{city}市教育局",
    "{city}大学",
    "{city}理工学院",
    "{province}电力公司{city}供电公司",
    "{bank}{city}分行",
    "{trade}{industry}集团股份有限公司",
    "{province}{trade}控股集团有限公司",
    "{city}地铁集团有限公司",
    "{city}广播电视台",
)
BANKS = ("中国工商银行", "中国建设银行", "中国银行", "招商银行", "交通银行", "兴业银行")
NUMBERS_ZH = ("一", "二", "三", "四", "五", "六")

ENGLISH_TRADE_NAMES = words(
    "Contoso Fabrikam Northwind Tailspin Litware Proseware Adatum Woodgrove Lucerne "
    "Alpine Wingtip Fourth-Coffee Coho Margie Trey Humongous Relecloud"
)
ENGLISH_COMPANY_KINDS = (
    "Trading",
    "Technology",
    "Medical Devices",
    "Precision Engineering",
    "Logistics",
    "Consulting",
    "Automotive Systems",
)

ROADS = words(
    "中山路 人民路 解放路 建设路 和平路 新华路 长江路 科技路 高新大道 滨江路 世纪大道 "
    "学府路 文化路 光明路 东风路 迎宾大道 金融街 创业路 软件园路 工业大道"
)
DISTRICT_KINDS = ("高新区", "经济开发区", "市中心", "新区", "老城区")
BUILDINGS = ("科技大厦", "国际中心", "金融中心", "创新园", "商务楼", "产业园")

STATION_TRADE_NAMES = words(
    "神州联保 佳捷 速修 天诚 华宇 恒信 瑞通 联合 蓝海 诚信 金桥 四通 鼎力 快捷 信安"
)
STATION_SUFFIXES = ("电脑技术服务有限公司", "授权服务站", "信息技术服务中心", "科技服务有限公司")


@dataclass(frozen=True)
class Model:
    name: str
    product_line: str
    price: Decimal
    """List price in CNY; a purchase is within ±12% of it."""
    segment: str
    """``consumer``, ``enterprise`` or ``both``."""


def _models(product_line: str, segment: str, *rows: tuple[str, int]) -> tuple[Model, ...]:
    return tuple(Model(name, product_line, Decimal(price), segment) for name, price in rows)


MODELS: tuple[Model, ...] = (
    *_models(
        "laptop",
        "enterprise",
        ("ThinkPad X1 Carbon Gen 11", 13999),
        ("ThinkPad X1 Carbon Gen 12", 14999),
        ("ThinkPad T14 Gen 4", 8999),
        ("ThinkPad T14 Gen 5", 9499),
        ("ThinkPad T14s Gen 5", 10999),
        ("ThinkPad E14 Gen 5", 5499),
        ("ThinkPad E14 Gen 6", 5999),
        ("ThinkPad X13 Gen 4", 8499),
        ("ThinkPad P16s Gen 2", 12999),
        ("ThinkBook 14 G6", 4999),
        ("ThinkBook 16 G6", 5299),
    ),
    *_models(
        "laptop",
        "consumer",
        ("Yoga Slim 7 Pro", 6999),
        ("Yoga Pro 14s", 8499),
        ("Yoga Air 14s", 7299),
        ("Legion Y9000P 2024", 10999),
        ("Legion R9000P 2023", 8999),
        ("小新 Pro 14 2024", 5499),
        ("小新 Air 15", 4299),
        ("ThinkBook 14+ 2024", 5999),
    ),
    *_models(
        "desktop",
        "enterprise",
        ("ThinkCentre M70q Gen 4", 4599),
        ("ThinkCentre M90q Gen 5", 6999),
        ("ThinkCentre M90t Gen 4", 6299),
        ("ThinkCentre neo 50s Gen 4", 3699),
        ("扬天 M4000q", 3999),
    ),
    *_models(
        "desktop",
        "consumer",
        ("Legion 刃7000K", 7999),
        ("天逸 510S", 3499),
    ),
    *_models(
        "aio",
        "enterprise",
        ("ThinkCentre M90a Gen 5", 8999),
        ("ThinkCentre neo 50a 24 Gen 5", 5499),
    ),
    *_models(
        "aio",
        "consumer",
        ("Yoga AIO 9i", 11999),
        ("小新 AIO 27", 5999),
    ),
    *_models(
        "workstation",
        "enterprise",
        ("ThinkStation P3 Tower", 15999),
        ("ThinkStation P5", 28999),
        ("ThinkStation P620", 45999),
        ("ThinkStation P360 Ultra", 17999),
        ("ThinkStation P7", 59999),
    ),
    *_models(
        "server",
        "enterprise",
        ("ThinkSystem SR650 V3", 89999),
        ("ThinkSystem SR630 V3", 69999),
        ("ThinkSystem SR665 V3", 99999),
        ("ThinkSystem ST250 V3", 29999),
        ("ThinkSystem SR850 V3", 239999),
        ("ThinkSystem ST50 V2", 12999),
    ),
    *_models(
        "tablet",
        "both",
        ("Lenovo Tab P12", 2299),
        ("Yoga Tab 13", 3999),
        ("小新 Pad Pro 12.7", 2499),
        ("ThinkPad X12 Detachable Gen 2", 9999),
    ),
    *_models(
        "monitor",
        "both",
        ("ThinkVision T27h-30", 2799),
        ("ThinkVision P27h-30", 3499),
        ("ThinkVision E24-30", 1099),
        ("ThinkVision P32p-30", 5999),
        ("Legion Y27qf-30", 2499),
    ),
)

#: Serial number prefixes by product line (two characters, then six random ones).
SERIAL_PREFIXES = {
    "laptop": "PF",
    "desktop": "MJ",
    "aio": "MJ",
    "workstation": "S1",
    "server": "J3",
    "tablet": "HA",
    "monitor": "V5",
}
SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Fault:
    zh: str
    en: str
    damage: str = "none"
    part: str | None = None


#: Repair requests by product line (``*`` applies to every line).
FAULTS: dict[str, tuple[Fault, ...]] = {
    "*": (
        Fault("开机无显示，电源灯亮", "Powers on but no display", part="motherboard"),
        Fault("频繁蓝屏死机", "Frequent blue screens", part="memory"),
        Fault("硬盘故障，系统无法启动", "Drive failure, system does not boot", part="drive"),
        Fault("风扇噪音大，温度过高", "Loud fan and overheating", part="fan"),
        Fault("无法开机", "Does not power on", part="power_supply"),
    ),
    "laptop": (
        Fault("屏幕闪烁，有竖线", "Screen flickers with vertical lines", part="screen"),
        Fault("键盘部分按键失灵", "Some keys do not work", part="keyboard"),
        Fault("电池无法充电", "Battery does not charge", part="battery"),
        Fault("电源适配器损坏", "Power adapter broken", part="adapter"),
        Fault("键帽脱落", "Key caps came off", part="keycaps"),
        Fault(
            "咖啡洒到键盘上，无法开机",
            "Coffee spilled on the keyboard, no power",
            "liquid",
            "motherboard",
        ),
        Fault("跌落后屏幕碎裂", "Screen cracked after a drop", "drop", "screen"),
        Fault("背包挤压导致屏幕损坏", "Screen damaged by pressure in a bag", "pressure", "screen"),
    ),
    "aio": (
        Fault("屏幕出现亮斑", "Bright spots on the screen", part="screen"),
        Fault("雷击后无法开机", "No power after a power surge", "surge", "power_supply"),
        Fault("液体溅入后屏幕无显示", "No display after a liquid spill", "liquid", "screen"),
    ),
    "desktop": (
        Fault("USB接口无反应", "USB ports do not respond", part="motherboard"),
        Fault("电源线损坏", "Power cable damaged", part="cable"),
    ),
    "workstation": (
        Fault("显卡报错，渲染时死机", "Graphics card errors, hangs while rendering", part="other"),
        Fault("内存报错，无法自检", "Memory errors, fails POST", part="memory"),
    ),
    "server": (
        Fault("RAID告警，硬盘指示灯黄灯", "RAID alert, drive LED amber", part="drive"),
        Fault("电源模块故障告警", "Power supply module alarm", part="power_supply"),
        Fault("XCC报内存不可纠正错误", "XCC reports uncorrectable memory errors", part="memory"),
        Fault("主板故障，无法启动", "System board fault, does not boot", part="motherboard"),
    ),
    "tablet": (
        Fault("触摸屏失灵", "Touch screen unresponsive", part="screen"),
        Fault("跌落后无法开机", "No power after a drop", "drop", "motherboard"),
    ),
    "monitor": (
        Fault("显示器无信号", "Monitor shows no signal", part="motherboard"),
        Fault("屏幕坏点", "Dead pixels", part="screen"),
    ),
}

INQUIRIES = (
    ("咨询保修期限", "Asked when the warranty ends"),
    ("咨询驱动程序下载", "Asked where to download drivers"),
    ("咨询上门服务范围", "Asked which sites onsite service covers"),
    ("查询维修进度", "Asked about the status of a repair"),
    ("咨询数据备份方法", "Asked how to back up data"),
    ("咨询系统重装", "Asked about reinstalling the system"),
    ("咨询发票开具", "Asked for an invoice"),
)
PRESALES = (
    ("咨询延保服务购买", "Asked about buying a warranty extension"),
    ("咨询意外保护服务", "Asked about accidental damage protection"),
    ("咨询ThinkPad批量采购报价", "Asked for a quote on a ThinkPad volume order"),
    ("咨询服务器扩容方案", "Asked about expanding server capacity"),
    ("咨询4小时上门服务", "Asked about 4-hour onsite response"),
    ("咨询保留硬盘服务", "Asked about keep-your-drive service"),
)
COMPLAINTS = (
    ("维修工程师未按约定时间上门", "The engineer did not arrive at the agreed time"),
    ("维修后问题复现", "The fault came back after the repair"),
    ("服务站服务态度差", "Rude service at the repair station"),
    ("配件等待时间过长", "Waited too long for a part"),
    ("热线等待时间过长", "Waited too long on the hotline"),
)
#: How a repair was resolved, by the part at fault.
RESOLUTIONS: dict[str, tuple[str, str]] = {
    "motherboard": ("更换主板后测试正常", "Replaced the system board; tests pass"),
    "drive": ("更换硬盘并恢复系统", "Replaced the drive and restored the system"),
    "screen": ("更换屏幕，显示正常", "Replaced the screen; display works"),
    "fan": ("清洁散热模组并更换风扇", "Cleaned the heat sink and replaced the fan"),
    "memory": ("更换内存，压力测试通过", "Replaced the memory; stress test passed"),
    "keyboard": ("更换键盘，按键测试正常", "Replaced the keyboard; all keys work"),
    "power_supply": ("更换电源模块，运行正常", "Replaced the power supply; runs normally"),
    "battery": ("更换电池（收费）", "Replaced the battery (billed)"),
    "adapter": ("更换电源适配器（收费）", "Replaced the power adapter (billed)"),
    "keycaps": ("更换键帽（收费）", "Replaced the key caps (billed)"),
    "cable": ("更换电源线（收费）", "Replaced the power cable (billed)"),
    "other": ("更换故障部件，测试通过", "Replaced the faulty part; tests pass"),
}
FIRMWARE_RESOLUTION = ("更新BIOS和驱动后问题解决", "Updated the BIOS and drivers; problem solved")
