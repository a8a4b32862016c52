"""Real cities of every place in the shipped regions, with what the demo needs to know of them.

Keyed by region place (a province, or 深圳 which is a region place of its own). Each city
carries a short Latin code (used in station codes), its pinyin (for English company names),
its landline area code, and its weight in the demo population.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    province: str
    """The province stored on customers and assets (深圳's is 广东)."""
    place: str
    """The region place the city belongs to (深圳 for 深圳, otherwise its province)."""
    code: str
    pinyin: str
    area_code: str
    """Landline area code with its trunk 0 (``010``, ``0571``)."""
    weight: int
    """Relative share of customers: 10 for the largest cities, 1 for small ones."""


def _cities(place: str, *rows: tuple[str, str, str, str, int], province: str | None = None):
    return tuple(
        City(name, province or place, place, code, pinyin, area, weight)
        for name, code, pinyin, area, weight in rows
    )


#: Cities per region place; the first city of each place is its capital.
CITIES_BY_PLACE: dict[str, tuple[City, ...]] = {
    "黑龙江": _cities(
        "黑龙江",
        ("哈尔滨", "HRB", "Harbin", "0451", 4),
        ("大庆", "DQ", "Daqing", "0459", 2),
        ("齐齐哈尔", "QQHR", "Qiqihar", "0452", 1),
        ("牡丹江", "MDJ", "Mudanjiang", "0453", 1),
    ),
    "吉林": _cities(
        "吉林",
        ("长春", "CC", "Changchun", "0431", 4),
        ("吉林", "JL", "Jilin", "0432", 2),
        ("延吉", "YJ", "Yanji", "0433", 1),
    ),
    "山西": _cities(
        "山西",
        ("太原", "TY", "Taiyuan", "0351", 4),
        ("大同", "DT", "Datong", "0352", 1),
        ("长治", "CZH", "Changzhi", "0355", 1),
        ("运城", "YC", "Yuncheng", "0359", 1),
    ),
    "内蒙古": _cities(
        "内蒙古",
        ("呼和浩特", "HHHT", "Hohhot", "0471", 3),
        ("包头", "BT", "Baotou", "0472", 2),
        ("鄂尔多斯", "EEDS", "Ordos", "0477", 1),
        ("赤峰", "CF", "Chifeng", "0476", 1),
    ),
    "北京": _cities("北京", ("北京", "BJ", "Beijing", "010", 10)),
    "天津": _cities("天津", ("天津", "TJ", "Tianjin", "022", 6)),
    "河北": _cities(
        "河北",
        ("石家庄", "SJZ", "Shijiazhuang", "0311", 4),
        ("唐山", "TS", "Tangshan", "0315", 2),
        ("保定", "BD", "Baoding", "0312", 2),
        ("廊坊", "LF", "Langfang", "0316", 1),
        ("邯郸", "HD", "Handan", "0310", 1),
    ),
    "辽宁": _cities(
        "辽宁",
        ("沈阳", "SY", "Shenyang", "024", 5),
        ("大连", "DL", "Dalian", "0411", 4),
        ("鞍山", "AS", "Anshan", "0412", 1),
        ("锦州", "JZ", "Jinzhou", "0416", 1),
    ),
    "山东": _cities(
        "山东",
        ("济南", "JN", "Jinan", "0531", 5),
        ("青岛", "QD", "Qingdao", "0532", 5),
        ("烟台", "YT", "Yantai", "0535", 2),
        ("潍坊", "WF", "Weifang", "0536", 2),
        ("临沂", "LY", "Linyi", "0539", 1),
    ),
    "福建": _cities(
        "福建",
        ("福州", "FZ", "Fuzhou", "0591", 4),
        ("厦门", "XM", "Xiamen", "0592", 4),
        ("泉州", "QZ", "Quanzhou", "0595", 2),
        ("漳州", "ZZH", "Zhangzhou", "0596", 1),
    ),
    "上海": _cities("上海", ("上海", "SH", "Shanghai", "021", 10)),
    "江苏": _cities(
        "江苏",
        ("南京", "NJ", "Nanjing", "025", 6),
        ("苏州", "SUZ", "Suzhou", "0512", 6),
        ("无锡", "WX", "Wuxi", "0510", 3),
        ("常州", "CZ", "Changzhou", "0519", 2),
        ("南通", "NT", "Nantong", "0513", 2),
        ("徐州", "XZ", "Xuzhou", "0516", 2),
    ),
    "安徽": _cities(
        "安徽",
        ("合肥", "HF", "Hefei", "0551", 5),
        ("芜湖", "WH", "Wuhu", "0553", 2),
        ("蚌埠", "BB", "Bengbu", "0552", 1),
        ("安庆", "AQ", "Anqing", "0556", 1),
    ),
    "浙江": _cities(
        "浙江",
        ("杭州", "HZ", "Hangzhou", "0571", 8),
        ("宁波", "NB", "Ningbo", "0574", 5),
        ("温州", "WZ", "Wenzhou", "0577", 3),
        ("绍兴", "SX", "Shaoxing", "0575", 2),
        ("嘉兴", "JX", "Jiaxing", "0573", 2),
        ("金华", "JH", "Jinhua", "0579", 2),
    ),
    "四川": _cities(
        "四川",
        ("成都", "CD", "Chengdu", "028", 8),
        ("绵阳", "MY", "Mianyang", "0816", 2),
        ("德阳", "DY", "Deyang", "0838", 1),
        ("宜宾", "YB", "Yibin", "0831", 1),
        ("南充", "NC", "Nanchong", "0817", 1),
    ),
    "重庆": _cities("重庆", ("重庆", "CQ", "Chongqing", "023", 7)),
    "西藏": _cities("西藏", ("拉萨", "LS", "Lhasa", "0891", 1)),
    "陕西": _cities(
        "陕西",
        ("西安", "XA", "Xi'an", "029", 6),
        ("咸阳", "XY", "Xianyang", "029", 1),
        ("宝鸡", "BJI", "Baoji", "0917", 1),
        ("榆林", "YL", "Yulin", "0912", 1),
    ),
    "甘肃": _cities(
        "甘肃",
        ("兰州", "LZ", "Lanzhou", "0931", 3),
        ("天水", "TSH", "Tianshui", "0938", 1),
    ),
    "宁夏": _cities("宁夏", ("银川", "YCH", "Yinchuan", "0951", 2)),
    "青海": _cities("青海", ("西宁", "XN", "Xining", "0971", 2)),
    "新疆": _cities(
        "新疆",
        ("乌鲁木齐", "WLMQ", "Urumqi", "0991", 3),
        ("克拉玛依", "KLMY", "Karamay", "0990", 1),
        ("库尔勒", "KEL", "Korla", "0996", 1),
        ("喀什", "KS", "Kashgar", "0998", 1),
    ),
    "云南": _cities(
        "云南",
        ("昆明", "KM", "Kunming", "0871", 4),
        ("曲靖", "QJ", "Qujing", "0874", 1),
        ("大理", "DLI", "Dali", "0872", 1),
    ),
    "贵州": _cities(
        "贵州",
        ("贵阳", "GY", "Guiyang", "0851", 4),
        ("遵义", "ZY", "Zunyi", "0851", 1),
    ),
    "广东": _cities(
        "广东",
        ("广州", "GZ", "Guangzhou", "020", 10),
        ("东莞", "DG", "Dongguan", "0769", 4),
        ("佛山", "FS", "Foshan", "0757", 4),
        ("珠海", "ZH", "Zhuhai", "0756", 2),
        ("惠州", "HUZ", "Huizhou", "0752", 2),
        ("汕头", "ST", "Shantou", "0754", 1),
        ("中山", "ZS", "Zhongshan", "0760", 2),
    ),
    "深圳": _cities("深圳", ("深圳", "SZ", "Shenzhen", "0755", 10), province="广东"),
    "河南": _cities(
        "河南",
        ("郑州", "ZZ", "Zhengzhou", "0371", 6),
        ("洛阳", "LYA", "Luoyang", "0379", 2),
        ("新乡", "XX", "Xinxiang", "0373", 1),
        ("南阳", "NY", "Nanyang", "0377", 1),
        ("许昌", "XC", "Xuchang", "0374", 1),
    ),
    "湖北": _cities(
        "湖北",
        ("武汉", "WHN", "Wuhan", "027", 7),
        ("宜昌", "YCA", "Yichang", "0717", 2),
        ("襄阳", "XYA", "Xiangyang", "0710", 2),
        ("荆州", "JZH", "Jingzhou", "0716", 1),
    ),
    "广西": _cities(
        "广西",
        ("南宁", "NN", "Nanning", "0771", 4),
        ("柳州", "LZH", "Liuzhou", "0772", 2),
        ("桂林", "GL", "Guilin", "0773", 2),
        ("北海", "BH", "Beihai", "0779", 1),
    ),
    "海南": _cities(
        "海南",
        ("海口", "HK", "Haikou", "0898", 2),
        ("三亚", "SYA", "Sanya", "0898", 1),
    ),
    "湖南": _cities(
        "湖南",
        ("长沙", "CS", "Changsha", "0731", 6),
        ("衡阳", "HY", "Hengyang", "0734", 1),
        ("岳阳", "YY", "Yueyang", "0730", 1),
        ("常德", "CDE", "Changde", "0736", 1),
    ),
    "江西": _cities(
        "江西",
        ("南昌", "NCH", "Nanchang", "0791", 4),
        ("赣州", "GZH", "Ganzhou", "0797", 2),
        ("九江", "JJ", "Jiujiang", "0792", 1),
        ("上饶", "SR", "Shangrao", "0793", 1),
    ),
}

ALL_CITIES: tuple[City, ...] = tuple(city for cities in CITIES_BY_PLACE.values() for city in cities)
CITY_BY_NAME: dict[str, City] = {city.name: city for city in ALL_CITIES}

#: How many repair stations each region gets at full scale (60 in all), and the city each
#: one is based in, in order; the first station of a region repairs every product line.
STATION_BASES: dict[str, tuple[str, ...]] = {
    "heiji": ("哈尔滨", "长春"),
    "jinmeng": ("太原", "呼和浩特"),
    "jingjinji": ("北京", "北京", "天津", "石家庄", "北京", "唐山"),
    "liaoning": ("沈阳", "大连"),
    "shandong": ("济南", "青岛", "烟台", "潍坊"),
    "fujian": ("福州", "厦门", "泉州"),
    "shanghai": ("上海", "上海", "上海", "上海"),
    "suwan": ("南京", "苏州", "合肥", "无锡", "徐州"),
    "zhejiang": ("杭州", "宁波", "温州", "杭州"),
    "chuanyu": ("成都", "重庆", "成都", "绵阳"),
    "xibei": ("西安", "兰州", "银川"),
    "xinjiang": ("乌鲁木齐",),
    "yungui": ("昆明", "贵阳"),
    "guangdong": ("广州", "东莞", "佛山", "广州", "珠海"),
    "henan": ("郑州", "洛阳", "郑州"),
    "hubei": ("武汉", "宜昌", "武汉"),
    "shengui": ("深圳", "南宁", "深圳", "海口"),
    "xianggan": ("长沙", "南昌", "衡阳"),
}

#: Cities where stations may offer 4-hour onsite response.
FOUR_HOUR_CANDIDATES = frozenset(
    {
        "北京", "上海", "广州", "深圳", "天津", "重庆", "成都", "杭州", "南京", "苏州", "武汉",
        "西安", "沈阳", "济南", "青岛", "郑州", "长沙", "福州", "厦门", "合肥", "宁波", "昆明",
    }
)  # fmt: skip
