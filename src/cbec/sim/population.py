"""Who trades what in the simulation: pilot zones, enterprises of every role, consumers and the goods
catalogue, plus the reference data the engine needs to clear them (positive list, rate table, enterprises).

Everything here is synthetic and labelled so. Real-world shape is kept where it matters to the engine or to
a reader of the files:

* zones are pilot-zone cities of the first three batches (policy.md §6.2); their 4-digit customs district
  codes have the JGS/T 18 shape (the first two digits are the directly-under customs as commonly published;
  2924, 4601, 4921 and 1501 are codes seen in the official samples) but were not checked against the official
  table: treat them as synthetic;
* enterprise codes have the 10-character customs registration shape (4-digit area + 9 + a role digit + a
  serial ending in a role letter) and the names say 模拟 (simulated);
* consumers' ID numbers come from `synthetic_id_number`: a real district code, a real birth date, sequence
  000 (never issued to a person) and a valid GB 11643 check digit; phones are 100xxxxxxxx, a range no
  mobile operator uses; names are common surnames and given names;
* goods have HS codes whose tariff lines are on the generated positive list (except the deliberate off-list
  ones) and whose headings have rates, including an MFN rate, in the generated rate table; prices are
  log-normal around a per-product median (the catalogue's median is about 150 CNY).
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from cbec.ceb.examples import Buyer, Party, synthetic_id_number

CENT = Decimal("0.01")

#: the label every generated reference file carries
SIM_LABEL = "模拟数据，非官方 / simulated data, not official"


def money(value: Decimal) -> Decimal:
    """Round to the fen, half up, as customs compares amounts."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ---- zones -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Zone:
    """A pilot-zone city (综试区): its customs district and a central district for addresses and IDs."""

    city: str
    province: str
    #: approval batch (policy.md §6.2: 1 = 2015 Hangzhou, 2 = 2016, 3 = 2018)
    batch: int
    #: 4-digit customs district code (JGS/T 18 shape; see the module docstring: treat as synthetic)
    customs: str
    #: GB/T 2260 code of a central district (county level) of the city
    district: str
    district_name: str
    #: relative share of the zone's traffic
    weight: float

    @property
    def area(self) -> str:
        """The 4-digit area prefix enterprise codes of this city start with."""
        return self.district[:4]


ZONES: tuple[Zone, ...] = (
    Zone("杭州", "浙江省", 1, "2924", "330102", "上城区", 10),
    Zone("天津", "天津市", 2, "0200", "120101", "和平区", 5),
    Zone("上海", "上海市", 2, "2200", "310101", "黄浦区", 6),
    Zone("重庆", "重庆市", 2, "8000", "500103", "渝中区", 4),
    Zone("合肥", "安徽省", 2, "3300", "340102", "瑶海区", 2),
    Zone("郑州", "河南省", 2, "4601", "410102", "中原区", 7),
    Zone("广州", "广东省", 2, "5100", "440103", "荔湾区", 9),
    Zone("成都", "四川省", 2, "7900", "510104", "锦江区", 4),
    Zone("大连", "辽宁省", 2, "0900", "210202", "中山区", 2),
    Zone("宁波", "浙江省", 2, "3100", "330203", "海曙区", 7),
    Zone("青岛", "山东省", 2, "4200", "370202", "市南区", 3),
    Zone("深圳", "广东省", 2, "5300", "440303", "罗湖区", 8),
    Zone("苏州", "江苏省", 2, "2300", "320505", "虎丘区", 3),
    Zone("北京", "北京市", 3, "0100", "110101", "东城区", 4),
    Zone("呼和浩特", "内蒙古自治区", 3, "0700", "150102", "新城区", 1),
    Zone("沈阳", "辽宁省", 3, "0800", "210102", "和平区", 1.5),
    Zone("长春", "吉林省", 3, "1501", "220102", "南关区", 1),
    Zone("哈尔滨", "黑龙江省", 3, "1900", "230102", "道里区", 1),
    Zone("南京", "江苏省", 3, "2300", "320102", "玄武区", 2.5),
    Zone("南昌", "江西省", 3, "4000", "360102", "东湖区", 1),
    Zone("武汉", "湖北省", 3, "4700", "420102", "江岸区", 2.5),
    Zone("长沙", "湖南省", 3, "4921", "430102", "芙蓉区", 2),
    Zone("南宁", "广西壮族自治区", 3, "7200", "450102", "兴宁区", 1.5),
    Zone("海口", "海南省", 3, "6400", "460105", "秀英区", 1.5),
    Zone("贵阳", "贵州省", 3, "8300", "520102", "南明区", 1),
    Zone("昆明", "云南省", 3, "8600", "530102", "五华区", 1),
    Zone("西安", "陕西省", 3, "9000", "610102", "新城区", 2),
    Zone("兰州", "甘肃省", 3, "9500", "620102", "城关区", 0.5),
    Zone("厦门", "福建省", 3, "3700", "350203", "思明区", 3),
    Zone("珠海", "广东省", 3, "5700", "440402", "香洲区", 1.5),
    Zone("东莞", "广东省", 3, "5200", "441900", "东莞市", 3),
    Zone("义乌", "浙江省", 3, "2900", "330782", "义乌市", 4),
    Zone("威海", "山东省", 3, "4200", "371002", "环翠区", 1),
)


# ---- enterprises -----------------------------------------------------------------------------------------

#: role → (中文, English, nature digit in the code, last letter of the code)
ROLES: dict[str, tuple[str, str, str, str]] = {
    "platform": ("电商平台", "e-commerce platform", "6", "P"),
    "ecommerce": ("电商企业", "e-commerce enterprise", "6", "E"),
    "payment": ("支付企业", "payment company", "6", "Z"),
    "logistics": ("物流企业", "logistics company", "8", "L"),
    "declarant": ("申报企业", "declarant (customs broker)", "8", "D"),
    "warehouse": ("区内仓储企业", "bonded-zone warehouse", "8", "W"),
}

_BRAND_WORDS = (
    "云购",
    "海淘",
    "优选",
    "环球",
    "跨洋",
    "万国",
    "易购",
    "乐享",
    "丝路",
    "远帆",
    "蓝鲸",
    "星桥",
    "启航",
    "海纳",
    "百川",
    "瑞通",
    "嘉禾",
    "汇通",
    "通达",
    "速邦",
)
_ROLE_SUFFIX = {
    "platform": "跨境电子商务平台有限公司",
    "ecommerce": "国际贸易有限公司",
    "payment": "支付服务有限公司",
    "logistics": "国际物流有限公司",
    "declarant": "报关服务有限公司",
    "warehouse": "保税仓储有限公司",
}


@dataclass(frozen=True, slots=True)
class Enterprise:
    """A company as customs knows it, with its role, home zone and data-exchange node id."""

    code: str
    name: str
    role: str
    city: str
    dxp_id: str

    @property
    def party(self) -> Party:
        return Party(self.code, self.name)


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A bonded-zone warehouse with its account book (账册): where 1210 goods wait to be sold."""

    enterprise: Enterprise
    ems_no: str


# ---- goods -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A catalogue entry before prices are drawn; `legal` is the first legal quantity of one article."""

    sku: str
    name: str
    category: str
    gcode: str
    gmodel: str
    unit: str
    legal_unit: str
    legal: Decimal
    country: str
    median: Decimal
    #: how often it is bought, relative
    popularity: float = 1.0
    #: on the generated positive list (False: the deliberate off-list goods)
    listed: bool = True
    #: the list's remark limits it to bonded import (仅限网购保税): only 1210 trades carry it
    bonded_only: bool = False
    #: sold only as one expensive article (the indivisible-item case), never in ordinary baskets
    luxury: bool = False
    #: usual quantities in one order line
    max_qty: int = 1


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue entry with its drawn price and a synthetic EAN-13 bar code (prefix 20, in-store range)."""

    spec: ProductSpec
    price: Decimal
    bar_code: str
    #: the platform's estimate of the retail tax rate, for the order's taxTotal
    tax_rate: Decimal


#: The catalogue as a table (columns: sku | name | category | gcode | gmodel | unit | legal unit | legal
#: quantity of one article | country | median price | popularity | flags | usual max quantity). Flags:
#: b = the list's remark limits it to bonded import, l = luxury (one indivisible article over 5,000 CNY,
#: never in ordinary baskets), x = not on the generated positive list (the off-list fault).
#: JGS-20 units: 001 台, 006 套, 007 个, 008 只, 012 支, 035 千克, 095 升, 122 罐, 125 包, 136 袋, 140 盒,
#: 142 瓶. JGS-20 countries: 116 日本, 133 韩国, 302 丹麦, 303 英国, 304 德国, 305 法国, 307 意大利,
#: 309 荷兰, 331 瑞士, 502 美国, 601 澳大利亚, 609 新西兰.
_CATALOGUE_TABLE = """
SIM-B01|婴儿纸尿裤L码|母婴|9619001100|L码 54片/包|125|035|1.5|116|105|4||4
SIM-B02|婴儿纸尿裤M码|母婴|9619001100|M码 64片/包|125|035|1.4|116|99|3||4
SIM-B03|婴儿拉拉裤XL码|母婴|9619001100|XL码 38片/包|125|035|1.3|133|115|2||4
SIM-M01|婴幼儿配方奶粉1段|奶粉|1901101000|800克/罐 1段|122|035|0.8|609|235|3||3
SIM-M02|婴幼儿配方奶粉3段|奶粉|1901101000|800克/罐 3段|122|035|0.8|309|215|3||3
SIM-M03|婴幼儿配方羊奶粉2段|奶粉|1901101000|800克/罐 2段|122|035|0.8|601|260|1.5||3
SIM-M04|全脂成人奶粉|奶粉|0402210000|1千克/袋|136|035|1.0|609|128|1.5||2
SIM-C01|保湿面霜|化妆品|3304990099|50毫升/瓶|142|035|0.05|116|168|2.5||2
SIM-C02|修护精华液|化妆品|3304990099|30毫升/瓶|142|035|0.03|305|420|2||1
SIM-C03|丝绒口红|化妆品|3304100000|3.5克/支|012|035|0.0035|305|230|2||2
SIM-C04|四色眼影盘|化妆品|3304200000|6克/盒|140|035|0.006|133|150|1||1
SIM-C05|补水面膜|化妆品|3304990099|10片/盒|140|035|0.25|133|89|3||3
SIM-C06|控油洗发水|化妆品|3305100000|500毫升/瓶|142|035|0.5|116|69|2||3
SIM-C07|淡香水|化妆品|3303000000|50毫升/瓶|142|035|0.05|305|560|1||1
SIM-C08|防晒乳|化妆品|3304990099|60毫升/瓶|142|035|0.06|116|139|2||2
SIM-S01|深海鱼油软胶囊|保健品|2106909090|1000毫克×200粒/瓶|142|035|0.3|502|158|2|b|3
SIM-S02|维生素C咀嚼片|保健品|2106909090|60片/瓶|142|035|0.12|601|89|2|b|3
SIM-S03|益生菌粉|保健品|2106909090|2克×30袋/盒|140|035|0.06|502|199|1.5|b|2
SIM-S04|乳清蛋白粉|保健品|2106100000|2.27千克/罐|122|035|2.27|502|399|1||1
SIM-F01|麦卢卡蜂蜜|食品|0409000000|500克/瓶 UMF10+|142|035|0.5|609|238|1.5||2
SIM-F02|黑巧克力|食品|1806320000|200克/盒 可可70%|140|035|0.2|331|49|2||4
SIM-F03|黄油曲奇|食品|1905310000|454克/盒|140|035|0.454|302|45|2||4
SIM-W01|干红葡萄酒|酒类|2204210000|750毫升/瓶 13.5%vol|142|095|0.75|305|168|2||6
SIM-W02|干白葡萄酒|酒类|2204210000|750毫升/瓶 12.5%vol|142|095|0.75|601|128|1||6
SIM-W03|单一麦芽威士忌|酒类|2208300000|700毫升/瓶 40%vol|142|095|0.7|303|460|1||2
SIM-T01|石英腕表|手表|9102110000|不锈钢表壳 石英机芯|008|008|1|331|1680|0.4||1
SIM-T02|自动机械腕表|手表|9102210000|不锈钢表壳 自动上弦|008|008|1|331|3600|0.25||1
SIM-E01|电动牙刷|家电|8509800000|声波式 含2支刷头|001|001|1|309|399|1||1
SIM-E02|负离子电吹风|家电|8516310000|1600W|001|001|1|116|899|0.6||1
SIM-H01|牛皮手提包|箱包|4202210000|牛皮面 中号|007|007|1|307|2300|0.3||1
SIM-L01|18K金表壳自动机械腕表|手表|9101210000|18K金表壳 自动上弦|008|008|1|331|12800|0|l|1
SIM-L02|列级庄干红葡萄酒|酒类|2204210000|750毫升/瓶 单瓶木箱装|142|095|0.75|305|6800|0|l|1
SIM-L03|鳄鱼纹牛皮手提包|箱包|4202210000|牛皮面 压纹 大号|007|007|1|305|9800|0|l|1
SIM-X01|电子烟套装|其他|8543400000|烟杆1支+烟弹3颗|006|007|1|502|199|0|x|1
SIM-X02|蔬菜种子礼盒|其他|1209919000|10袋/盒|140|035|0.1|116|58|0|x|1
"""


def _catalogue(table: str) -> tuple[ProductSpec, ...]:
    out: list[ProductSpec] = []
    for row in table.strip().splitlines():
        sku, name, category, gcode, gmodel, unit, legal_unit, legal, country, median, pop, flags, qty = (
            row.split("|")
        )
        out.append(
            ProductSpec(
                sku=sku,
                name=name,
                category=category,
                gcode=gcode,
                gmodel=gmodel,
                unit=unit,
                legal_unit=legal_unit,
                legal=Decimal(legal),
                country=country,
                median=Decimal(median),
                popularity=float(pop),
                listed="x" not in flags,
                bonded_only="b" in flags,
                luxury="l" in flags,
                max_qty=int(qty),
            )
        )
    return tuple(out)


CATALOGUE: tuple[ProductSpec, ...] = _catalogue(_CATALOGUE_TABLE)


@dataclass(frozen=True, slots=True)
class RateSpec:
    """One row of the generated rate table (EXAMPLE rates, labelled so in the file)."""

    prefix: str
    vat: str
    ct: str
    ct_min: str
    ct_unit: str
    mfn: str
    name_zh: str
    name_en: str


#: Rates by heading (prefix | VAT | CT | CT minimum unit price | its unit | MFN | 中文 | English). VAT and CT
#: follow policy.md §1.5 and the shipped sample table; every MFN rate is an EXAMPLE for the simulation (the
#: full-tax path needs one), not the tariff.
_RATES_TABLE = """
0402|9%|0|||10%|乳粉|milk powder
0409|9%|0|||15%|天然蜂蜜|natural honey
1209|9%|0|||0%|种植用种子|seeds for sowing
1806|13%|0|||8%|巧克力|chocolate
1901|13%|0|||5%|婴幼儿配方奶粉等|infant formula
1905|13%|0|||5%|饼干糕点|biscuits
2106|13%|0|||10%|其他食品|food preparations
2204|13%|10%|||14%|葡萄酒|wine of fresh grapes
2208|13%|20%|||5%|蒸馏酒|spirits
3303|13%|15%|10|ml_g|3%|香水|perfume
3304|13%|15%|15;10|piece;ml_g|3%|美容化妆品|beauty and skin-care
3305|13%|0|||3%|护发品|hair preparations
4202|13%|0|||6%|箱包|handbags
8509|13%|0|||8%|家用电动器具|domestic electric appliances
8516|13%|0|||8%|电热器具|electro-thermic appliances
8543|13%|0|||8%|其他电气设备|other electrical apparatus
9101|13%|20%|10000|each|10%|贵金属壳手表|precious-metal-case watches
9102|13%|20%|10000|each|10%|其他手表|other wrist-watches
9619|13%|0|||2%|尿布及类似品|nappies and similar
"""


def _rates(table: str) -> tuple[RateSpec, ...]:
    out: list[RateSpec] = []
    for row in table.strip().splitlines():
        prefix, vat, ct, ct_min, ct_unit, mfn, name_zh, name_en = row.split("|")
        # several CT conditions are ";"-separated here and "|"-separated in the rate file
        out.append(
            RateSpec(
                prefix, vat, ct, ct_min.replace(";", "|"), ct_unit.replace(";", "|"), mfn, name_zh, name_en
            )
        )
    return tuple(out)


RATES: tuple[RateSpec, ...] = _rates(_RATES_TABLE)
RATE_COLUMNS = (
    "hs_prefix",
    "vat_rate",
    "ct_rate",
    "ct_min_unit_price",
    "ct_price_unit",
    "mfn_rate",
    "name_zh",
    "name_en",
    "source",
)


def _percent(text: str) -> Decimal:
    return Decimal(text.rstrip("%")) / 100 if text.endswith("%") else Decimal(text)


def retail_rate(gcode: str) -> Decimal:
    """The platform's estimate of the retail composite rate: (CT + VAT)/(1 − CT) × 70 % (policy.md §1.3)."""
    for spec in RATES:
        if gcode.startswith(spec.prefix):
            vat, ct = _percent(spec.vat), _percent(spec.ct)
            return (ct + vat) / (1 - ct) * Decimal("0.7")
    return Decimal("0.091")


def ean13(body12: str) -> str:
    """An EAN-13 code: 12 digits and their check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


# ---- consumers -------------------------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊洋艳勇军杰娟涛明超霞平刚桂英华玉兰萍红文辉鹏飞宇浩然欣怡子涵梓轩雨婷佳琪思远晨阳"
STREETS = (
    "中山路",
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "文化路",
    "新华路",
    "胜利路",
    "长江路",
    "黄河路",
    "学院路",
    "科技路",
    "滨江路",
    "湖滨路",
    "青年路",
    "幸福路",
)
_BIRTH_FIRST = date(1965, 1, 1)
#: people kept ready (buyers repeat); the cache is dropped when full, so memory stays bounded
_PEOPLE_CACHE = 100_000
_BIRTH_DAYS = (date(2003, 12, 31) - _BIRTH_FIRST).days + 1


@dataclass(frozen=True, slots=True)
class Consumer:
    """A synthetic person: buyer, payer or consignee. `index` is stable for a seed."""

    index: int
    name: str
    id_number: str
    telephone: str
    reg_no: str
    address: str
    district: str

    @property
    def buyer(self) -> Buyer:
        return Buyer(
            name=self.name,
            id_number=self.id_number,
            telephone=self.telephone,
            reg_no=self.reg_no,
            address=self.address,
            district=self.district,
        )


# ---- the population --------------------------------------------------------------------------------------


@dataclass
class Population:
    """Zones, enterprises, the priced catalogue and a consumer space, all drawn from one seed."""

    seed: int
    zones: tuple[Zone, ...]
    platforms: list[Enterprise]
    ecommerce: dict[str, list[Enterprise]]
    platforms_of: dict[str, list[Enterprise]]
    payments: list[Enterprise]
    logistics: list[Enterprise]
    declarants: dict[str, list[Enterprise]]
    warehouses: dict[str, Warehouse]
    products: list[Product]
    #: how many distinct people the consumer space holds (region × birth date, all unique)
    capacity: int = 0
    _multiplier: int = 1
    _offset: int = 0
    enterprises: list[Enterprise] = field(default_factory=list)
    _people: dict[int, Consumer] = field(default_factory=dict, repr=False)

    # -- consumers ----------------------------------------------------------------------------------------

    def consumer(self, index: int) -> Consumer:
        """Person `index` (0 ≤ index < capacity): the same person every time, unique ID number."""
        known = self._people.get(index)
        if known is not None:
            return known
        if not 0 <= index < self.capacity:
            raise ValueError(f"consumer index {index} outside 0..{self.capacity - 1}")
        if len(self._people) >= _PEOPLE_CACHE:
            self._people.clear()
        self._people[index] = made = self._make_consumer(index)
        return made

    def _make_consumer(self, index: int) -> Consumer:
        slot = (index * self._multiplier + self._offset) % self.capacity
        zone = self.zones[slot % len(self.zones)]
        born = _BIRTH_FIRST + timedelta(days=slot // len(self.zones))
        rng = random.Random(f"{self.seed}:person:{index}")
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        home = zone if rng.random() < 0.7 else rng.choice(self.zones)
        city = "" if home.province.startswith(home.city) else home.city + "市"
        district = "" if home.district_name == home.city + "市" else home.district_name
        address = (
            f"{home.province}{city}{district}{rng.choice(STREETS)}{rng.randint(1, 999)}号"
            f"{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
        )
        return Consumer(
            index=index,
            name=name,
            id_number=synthetic_id_number(zone.district, born.strftime("%Y%m%d"), "000"),
            telephone=f"100{index:08d}",
            reg_no=f"SIMU{index:09d}",
            address=address,
            district=home.district,
        )

    # -- reference files ----------------------------------------------------------------------------------

    def positive_list_csv(self, effective: date) -> str:
        """The generated positive list: every listed tariff line of the catalogue, with realistic remarks."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        out.write(
            f"# 模拟正面清单 {SIM_LABEL}\n# cbec simulate: tariff lines of the simulated catalogue only.\n"
        )
        writer.writerow(["tariff_line", "name", "remark", "version", "effective_date", "label"])
        seen: dict[str, ProductSpec] = {}
        for product in self.products:
            spec = product.spec
            if spec.listed:
                seen.setdefault(spec.gcode[:8], spec)
        for line, spec in sorted(seen.items()):
            remark = ""
            if spec.bonded_only:
                remark = "仅限网购保税商品"
            elif line == "42022100":
                remark = "列入《进出口野生动植物种商品目录》的商品除外"
            name = f"{spec.category}：{spec.name}"
            writer.writerow([line, name, remark, "SIM-2022", effective.isoformat(), SIM_LABEL])
        return out.getvalue()

    @staticmethod
    def rates_csv() -> str:
        """The generated rate table: every heading of the catalogue, with an (EXAMPLE) MFN rate."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        out.write(
            f"# 模拟税率表 {SIM_LABEL}.\n"
            "# VAT/CT per policy.md §1.5; every MFN rate is an EXAMPLE, not the tariff.\n"
        )
        writer.writerow(RATE_COLUMNS)
        for spec in RATES:
            cells = [spec.prefix, spec.vat, spec.ct, spec.ct_min, spec.ct_unit, spec.mfn]
            writer.writerow([*cells, spec.name_zh, spec.name_en, "cbec simulate; MFN is an EXAMPLE"])
        return out.getvalue()

    def enterprises_csv(self) -> str:
        """Every generated enterprise: code, name, role, city, DXP node, account book of warehouses."""
        books = {w.enterprise.code: w.ems_no for w in self.warehouses.values()}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["code", "name", "role", "role_zh", "city", "dxp_id", "ems_no"])
        for e in self.enterprises:
            writer.writerow(
                [e.code, e.name, e.role, ROLES[e.role][0], e.city, e.dxp_id, books.get(e.code, "")]
            )
        return out.getvalue()


def _lognormal_price(rng: random.Random, median: Decimal, sigma: float) -> Decimal:
    value = float(median) * math.exp(rng.gauss(0.0, sigma))
    # shop prices: whole yuan, most ending in 9 or 0
    whole = max(1, round(value))
    if whole >= 20:
        whole = whole - whole % 10 + (9 if rng.random() < 0.6 else 0)
    return Decimal(whole).quantize(CENT)


def build_population(seed: int, consumers: int) -> Population:
    """The population of a run: deterministic in `seed`; room for at least `consumers` distinct people."""
    rng = random.Random(f"{seed}:population")
    serial: dict[tuple[str, str], int] = {}
    everyone: list[Enterprise] = []
    dxp_serial = 0

    def make(role: str, zone: Zone) -> Enterprise:
        nonlocal dxp_serial
        key = (zone.area, role)
        serial[key] = serial.get(key, 0) + 1
        _zh, _en, nature, letter = ROLES[role]
        code = f"{zone.area}9{nature}{serial[key]:03d}{letter}"
        word = rng.choice(_BRAND_WORDS)
        name = f"{zone.city}{word}{_ROLE_SUFFIX[role]}（模拟）"
        dxp_serial += 1
        enterprise = Enterprise(code, name, role, zone.city, f"DXPENT{seed % 10000:04d}{dxp_serial:06d}")
        everyone.append(enterprise)
        return enterprise

    big = sorted(ZONES, key=lambda z: -z.weight)
    platforms = [make("platform", z) for z in big[:6]]
    payments = [make("payment", z) for z in big[:5]]
    logistics = [make("logistics", z) for z in big[:8]]
    ecommerce: dict[str, list[Enterprise]] = {}
    declarants: dict[str, list[Enterprise]] = {}
    warehouses: dict[str, Warehouse] = {}
    platforms_of: dict[str, list[Enterprise]] = {}
    for zone in ZONES:
        sellers = [make("ecommerce", zone) for _ in range(3 if zone.weight >= 4 else 2)]
        ecommerce[zone.city] = sellers
        for seller in sellers:
            platforms_of[seller.code] = rng.sample(platforms, k=rng.choice((1, 1, 2)))
        declarants[zone.city] = [make("declarant", zone) for _ in range(2 if zone.weight >= 4 else 1)]
        keeper = make("warehouse", zone)
        warehouses[zone.city] = Warehouse(
            keeper, f"T{zone.customs}W{seed % 1000:03d}{len(warehouses) + 1:03d}"
        )
    products: list[Product] = []
    for index, spec in enumerate(CATALOGUE, 1):
        price = _lognormal_price(rng, spec.median, 0.12 if spec.luxury else 0.25)
        bar = ean13(f"20{seed % 10000:04d}{index:06d}")
        products.append(Product(spec, price, bar, retail_rate(spec.gcode)))
    capacity = len(ZONES) * _BIRTH_DAYS
    if consumers > capacity:
        raise ValueError(f"at most {capacity} distinct consumers can be generated")
    multiplier = rng.randrange(1, capacity)
    while math.gcd(multiplier, capacity) != 1:
        multiplier += 1
    return Population(
        seed=seed,
        zones=ZONES,
        platforms=platforms,
        ecommerce=ecommerce,
        platforms_of=platforms_of,
        payments=payments,
        logistics=logistics,
        declarants=declarants,
        warehouses=warehouses,
        products=products,
        capacity=capacity,
        _multiplier=multiplier,
        _offset=rng.randrange(capacity),
        enterprises=everyone,
    )


def weighted(items: Sequence[float]) -> list[float]:
    """Cumulative weights for `random.choices(..., cum_weights=...)` (precomputed once: it is faster)."""
    total = 0.0
    out: list[float] = []
    for weight in items:
        total += weight
        out.append(total)
    return out
