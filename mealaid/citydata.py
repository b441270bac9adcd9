"""Names, places and dishes for the demo city: Yuexiu district, Guangzhou (coordinates are real
street areas; people, phone numbers and addresses are invented)."""

CITY = "广州市"
DISTRICT = "越秀区"

# street (街道): (centre latitude, centre longitude, roads, communities)
STREETS = {
    "北京街": (23.1262, 113.2695, ["北京路", "西湖路", "教育路"], ["仓边", "盐运西", "大马站"]),
    "人民街": (23.1237, 113.2576, ["人民中路", "大德路", "光复中路"], ["诗书", "素波", "龙藏"]),
    "光塔街": (23.1284, 113.2603, ["光塔路", "中山六路", "解放中路"], ["光塔", "海珠北", "纸行"]),
    "六榕街": (23.1337, 113.2628, ["六榕路", "朝阳北路", "东风西路"], ["六榕", "朝阳", "人民北"]),
    "东山街": (
        23.1286,
        113.2918,
        ["署前路", "寺右新马路", "龟岗大马路"],
        ["新河浦", "达道路", "寺右"],
    ),
    "农林街": (23.1336, 113.2881, ["农林下路", "东华东路", "执信南路"], ["竹丝岗", "执信", "农林"]),
}

# Kitchens cook for the streets listed (and deliver there); each street has one elder canteen.
KITCHENS = {
    "越秀区西片中央厨房": ("人民街", 23.1296, 113.2566, ["北京街", "人民街", "光塔街"]),
    "越秀区东片中央厨房": ("农林街", 23.1318, 113.2852, ["六榕街", "东山街", "农林街"]),
}

# The meals each kind of site serves: (meal, orders close, delivery from, delivery until).
KITCHEN_MEALS = [("lunch", "09:00", "11:00", "12:30"), ("dinner", "14:30", "17:00", "18:30")]
CANTEEN_MEALS = [("lunch", "10:00", "11:00", "13:00")]
CANTEEN_DINNER = ("dinner", "15:00", "17:00", "18:30")  # at every second street's canteen
KITCHEN_PHONE, CANTEEN_PHONE = "020-8388 10{number:02d}", "020-8388 20{number:02d}"
# Riders of each kitchen: how they ride, the boxes they may carry (one is drawn), their shift.
RIDER_MODE, RIDER_CAPACITIES, RIDER_SHIFT = "ebike", [24, 30, 30, 36], ("10:00", "19:30")
# Each community's worker (社工), with the duty phone of the community's office.
WORKER_TITLE, WORKER_PHONE = "社工", "020-8388 3{number:03d}"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢钟谭陆汪范金石廖贾夏韦方白邹孟熊秦江薛段雷侯龙黎"
)
GIVEN_FEMALE = [
    "秀英",
    "桂英",
    "玉兰",
    "凤英",
    "淑珍",
    "丽华",
    "惠芳",
    "秀兰",
    "桂芳",
    "月娥",
    "美玲",
    "少珍",
    "婉仪",
    "佩珍",
    "丽娟",
    "瑞芳",
    "丽芬",
    "碧霞",
    "玉珍",
    "素琴",
]
GIVEN_MALE = [
    "建国",
    "国强",
    "志明",
    "德华",
    "振华",
    "永康",
    "国华",
    "锦荣",
    "炳坤",
    "伟雄",
    "耀明",
    "汉文",
    "树森",
    "家辉",
    "伯均",
    "润生",
    "志坚",
    "少强",
    "炳南",
    "荣光",
]
CHILD_GIVEN = ["志伟", "嘉欣", "敏仪", "伟明", "晓文", "丽君", "俊杰", "慧敏", "家豪", "咏诗"]
RELATIONS = ["儿子", "女儿", "侄女", "外甥", "儿媳"]

# code: (Chinese name, English name, allergens)
DISHES = {
    "D01": ("清蒸鲈鱼套餐", "Steamed sea bass set", ["fish"]),
    "D02": ("番茄炒蛋套餐", "Tomato and egg stir-fry set", ["egg"]),
    "D03": ("冬瓜蒸肉饼套餐", "Winter melon with steamed pork patty set", ["soy"]),
    "D04": ("白切鸡套餐", "White-cut chicken set", ["sesame"]),
    "D05": ("豉汁蒸排骨套餐", "Spare ribs in black bean sauce set", ["soy"]),
    "D06": ("鱼片豆腐煲套餐", "Fish fillet and tofu pot set", ["fish", "soy"]),
    "D07": ("西兰花炒虾仁套餐", "Broccoli with shrimp set", ["shellfish"]),
    "D08": ("土豆焖牛腩套餐", "Braised beef brisket with potato set", ["soy", "wheat"]),
    "D09": ("香菇蒸滑鸡套餐", "Steamed chicken with mushroom set", ["soy"]),
    "D10": ("节瓜肉碎套餐", "Hairy melon with minced pork set", []),
    "D11": ("蒸水蛋肉末套餐", "Steamed egg custard with pork set", ["egg"]),
    "D12": ("红烧豆腐套餐", "Braised tofu set", ["soy", "wheat"]),
    "D13": ("咸鱼蒸肉饼套餐", "Pork patty with salted fish set", ["fish"]),
    "D14": ("粟米鱼块套餐", "Fish with sweetcorn set", ["fish", "milk"]),
    "D15": ("凉瓜炒牛肉套餐", "Bitter melon with beef set", ["soy"]),
    "D16": ("腐竹焖鸡套餐", "Chicken with tofu skin set", ["soy"]),
    "D17": ("冬菇焖鸭套餐", "Braised duck with shiitake set", ["soy", "wheat"]),
    "D18": ("南瓜蒸排骨套餐", "Pumpkin with spare ribs set", []),
    "D19": ("丝瓜炒蛋套餐", "Loofah and egg set", ["egg"]),
    "D20": ("花生眉豆煲猪骨套餐", "Pork bone with peanut and bean soup set", ["peanut"]),
    "D21": ("萝卜焖牛腩套餐", "Beef brisket with radish set", ["soy", "wheat"]),
    "D22": ("虾仁滑蛋套餐", "Scrambled egg with shrimp set", ["shellfish", "egg"]),
    "D23": ("菜心炒肉片套餐", "Choy sum with sliced pork set", ["soy"]),
    "D24": ("淮山蒸鸡套餐", "Steamed chicken with Chinese yam set", []),
    "D25": ("芋头焖排骨套餐", "Spare ribs with taro set", ["soy"]),
    "D26": ("鲜奶炖蛋套餐", "Steamed milk custard set", ["milk", "egg"]),
    "D27": ("木耳炒肉片套餐", "Pork with wood ear set", ["soy"]),
    "D28": ("鸡蓉粟米羹套餐", "Chicken and sweetcorn soup set", ["egg"]),
}

# variant: (texture, diet tags, extra price in fen)
VARIANTS = {
    "regular": ("regular", [], 0),
    "low_salt": ("regular", ["low_salt"], 0),
    "low_sugar": ("regular", ["low_sugar", "low_salt"], 0),
    "soft": ("soft", ["low_salt", "low_sugar"], 0),
    "minced": ("minced", ["low_salt", "low_sugar"], 0),
    "pureed": ("pureed", ["low_salt", "low_sugar"], 300),
}

# The demo policy, modelled on published practice in Guangzhou (four contributions): 特困 elders
# pay nothing; 低保 and low-income elders get a large city subsidy, those aged 80+ a smaller one
# (the most favourable applies); every resident aged 60+ gets a small universal subsidy on top;
# the district adds a little for elders needing care when they eat in the district; the
# provider concedes a fixed amount; a charity fund covers part of the rest for elders living
# alone until its monthly budget runs out.
FUNDERS = {
    # code: (Chinese name, English name, share, layer, jurisdiction)
    "GZ-MZJ": ("广州市民政局", "Guangzhou Civil Affairs Bureau", "government", "city", CITY),
    "YX-MZJ": (
        "越秀区民政局",
        "Yuexiu District Civil Affairs Bureau",
        "government",
        "district",
        DISTRICT,
    ),
    "YX-OPS": ("越秀区长者饭堂运营方", "Yuexiu elder canteen operator", "business", None, None),
    "GZ-CSH": ("广州市慈善会", "Guangzhou Charity Association", "charity", None, None),
}
# code: (funder, Chinese name, English name, budget period, budget in fen per period)
FUNDS = {
    "GZ-CSH-LOVE": (
        "GZ-CSH",
        "长者助餐爱心基金",
        "Elder meals love fund",
        "month",
        20_000,
    ),
}
# code: (funder, fund, conditions, fixed fen or None, basis points or None, priority, stacks,
#        cap per meal, cap per elder per month)
RULES = {
    "CITY-TEKUN": ("GZ-MZJ", None, {"categories": ["tekun"]}, None, 10_000, 10, False, None, None),
    "CITY-DIBAO": ("GZ-MZJ", None, {"categories": ["dibao"]}, 800, None, 10, False, None, None),
    "CITY-LOWINC": (
        "GZ-MZJ",
        None,
        {"categories": ["low_income"]},
        500,
        None,
        10,
        False,
        None,
        None,
    ),
    "CITY-AGE80": ("GZ-MZJ", None, {"min_age": 80}, 400, None, 10, False, None, None),
    "CITY-BASE60": ("GZ-MZJ", None, {"min_age": 60}, 200, None, 20, True, None, None),
    "DIST-CARE": (
        "YX-MZJ",
        None,
        {"categories": ["disabled_care", "dementia", "disability"]},
        300,
        None,
        30,
        True,
        None,
        6_000,
    ),
    "OPS-CONCEDE": ("YX-OPS", None, {}, 100, None, 50, True, None, None),
    "CHARITY-ALONE": (
        "GZ-CSH",
        "GZ-CSH-LOVE",
        {"categories": ["living_alone"]},
        None,
        5_000,
        60,
        True,
        300,
        3_000,
    ),
}
ELDER_MIN_PAYMENT_FEN = 0
UNSERVED = "waived"

# Ingredients: code -> (Chinese, English, measured by)
INGREDIENTS = {
    "rice": ("大米", "rice", "mass"),
    "veg": ("时令蔬菜", "seasonal vegetables", "mass"),
    "oil": ("花生油", "peanut oil", "volume"),
    "pork": ("猪肉", "pork", "mass"),
    "chicken": ("鸡肉", "chicken", "mass"),
    "beef": ("牛肉", "beef", "mass"),
    "fish": ("鲜鱼", "fish", "mass"),
    "shrimp": ("虾仁", "shrimp", "mass"),
    "egg": ("鸡蛋", "eggs", "count"),
    "tofu": ("豆腐", "tofu", "mass"),
    "duck": ("鸭肉", "duck", "mass"),
    "milk": ("牛奶", "milk", "volume"),
}
# Every set comes with rice, vegetables and oil; then its own main ingredients per portion.
RECIPE_BASE = [("rice", "150", "g"), ("veg", "120", "g"), ("oil", "8", "ml")]
RECIPE_MAIN = {
    "D01": [("fish", "120", "g")],
    "D02": [("egg", "2", "piece")],
    "D03": [("pork", "90", "g")],
    "D04": [("chicken", "130", "g")],
    "D05": [("pork", "120", "g")],
    "D06": [("fish", "90", "g"), ("tofu", "80", "g")],
    "D07": [("shrimp", "70", "g")],
    "D08": [("beef", "100", "g")],
    "D09": [("chicken", "120", "g")],
    "D10": [("pork", "70", "g")],
    "D11": [("egg", "2", "piece"), ("pork", "40", "g")],
    "D12": [("tofu", "150", "g")],
    "D13": [("pork", "90", "g"), ("fish", "15", "g")],
    "D14": [("fish", "110", "g")],
    "D15": [("beef", "90", "g")],
    "D16": [("chicken", "120", "g"), ("tofu", "30", "g")],
    "D17": [("duck", "130", "g")],
    "D18": [("pork", "120", "g")],
    "D19": [("egg", "2", "piece")],
    "D20": [("pork", "100", "g")],
    "D21": [("beef", "100", "g")],
    "D22": [("shrimp", "50", "g"), ("egg", "2", "piece")],
    "D23": [("pork", "90", "g")],
    "D24": [("chicken", "120", "g")],
    "D25": [("pork", "110", "g")],
    "D26": [("milk", "150", "ml"), ("egg", "1", "piece")],
    "D27": [("pork", "90", "g")],
    "D28": [("chicken", "60", "g"), ("egg", "1", "piece")],
}
