"""Demo directories: about 50 Russian organizations with valid requisites, their contacts,
actions, contracts (both roles), invoices and deliveries, 10 suppliers and a nomenclature.

Loaded through the services, so every object passes validation and has its audit trail.
Loading twice changes nothing: the demo organizations carry the batch id DEMO_BATCH.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from engine.actor import Actor

from . import actions, contacts, contracts, deliveries, invoices, organizations, products
from . import suppliers as supplier_service
from .models import Organization, Product
from .requisites import make_inn, make_ogrn, make_okpo, make_settlement_account

DEMO_BATCH = "demo"
SEED = 20261128
TODAY = date(2026, 11, 1)

BANKS = [  # (name, BIK, correspondent account): real banks, checked by the key rule
    ("ПАО Сбербанк", "044525225", "30101810400000000225"),
    ("АО «Т-Банк»", "044525974", "30101810145250000974"),
    ("АО «Альфа-Банк»", "044525593", "30101810200000000593"),
    ("Банк ВТБ (ПАО)", "044525187", "30101810700000000187"),
    ("Северо-Западный банк ПАО Сбербанк", "044030653", "30101810500000000653"),
    ("Уральский банк ПАО Сбербанк", "046577674", "30101810500000000674"),
]
CITIES = [  # (region code, region, city, postal code prefix, phone code)
    ("77", "г. Москва", "Москва", "12", "495"),
    ("78", "г. Санкт-Петербург", "Санкт-Петербург", "19", "812"),
    ("66", "Свердловская обл.", "Екатеринбург", "62", "343"),
    ("54", "Новосибирская обл.", "Новосибирск", "63", "383"),
    ("16", "Республика Татарстан", "Казань", "42", "843"),
    ("52", "Нижегородская обл.", "Нижний Новгород", "60", "831"),
    ("63", "Самарская обл.", "Самара", "44", "846"),
    ("61", "Ростовская обл.", "Ростов-на-Дону", "34", "863"),
    ("23", "Краснодарский край", "Краснодар", "35", "861"),
    ("59", "Пермский край", "Пермь", "61", "342"),
]
NAMES = [
    "Ромашка",
    "Василёк",
    "ТехноСервис",
    "Волга-Логистик",
    "Уральские трубы",
    "СеверСтройМонтаж",
    "Альфа-Снаб",
    "ИнвестПроект",
    "Медтехника",
    "АгроПром",
    "Балтийская верфь",
    "Сибирский кедр",
    "ЭнергоАудит",
    "Фармация",
    "КамаТранс",
    "Донской хлеб",
    "Кубань-Агро",
    "ПромАвтоматика",
    "ЦифраСофт",
    "Бумажная фабрика",
    "Стальконструкция",
    "ТеплоЭнерго",
    "Гранит",
    "Северное сияние",
    "Молочный край",
    "Офис-Комплект",
    "Вектор",
    "Меридиан",
    "Горизонт",
    "Лесопромышленная компания",
    "Нефтехимснаб",
    "Электросети",
    "Полимер",
    "Стройдеталь",
    "Оптторг",
    "Инфосистемы",
    "Транзит",
    "Чистый город",
    "Спецодежда",
    "Типография «Слово»",
    "Мебельград",
    "Станкомаш",
    "Кабельный завод",
    "ЛабСнаб",
    "Автозапчасть",
]
PEOPLE = [
    "Иванов Иван Иванович",
    "Петрова Анна Сергеевна",
    "Смирнов Алексей Петрович",
    "Кузнецова Мария Олеговна",
    "Попов Дмитрий Андреевич",
    "Соколова Елена Викторовна",
    "Лебедев Сергей Николаевич",
    "Козлова Ольга Игоревна",
    "Новиков Артём Павлович",
    "Морозова Татьяна Юрьевна",
    "Волков Михаил Ильич",
    "Фёдорова Наталья Ивановна",
    "Алексеев Пётр Семёнович",
    "Орлова Ксения Андреевна",
    "Егоров Роман Олегович",
]
POSITIONS = [
    "Генеральный директор",
    "Главный бухгалтер",
    "Менеджер по закупкам",
    "Коммерческий директор",
    "Начальник отдела снабжения",
    "Юрист",
]
PRODUCTS = [  # (code, name, unit, type, price)
    ("BUM-A4", "Бумага офисная А4, 500 л.", "пачка", "канцтовары", "389.00"),
    ("RUCH-01", "Ручка шариковая синяя", "шт", "канцтовары", "24.50"),
    ("KART-HP", "Картридж лазерный HP 85A", "шт", "расходные материалы", "4890.00"),
    ("NOUT-15", 'Ноутбук 15,6"', "шт", "компьютерная техника", "68900.00"),
    ("MON-24", 'Монитор 24"', "шт", "компьютерная техника", "15490.00"),
    ("KRES-01", "Кресло офисное", "шт", "мебель", "12990.00"),
    ("STOL-14", "Стол письменный 140 см", "шт", "мебель", "9800.00"),
    ("TRUB-57", "Труба стальная 57×3,5", "м", "металлопрокат", "612.00"),
    ("ARM-12", "Арматура А500С 12 мм", "т", "металлопрокат", "61500.00"),
    ("CEM-500", "Цемент М500, 50 кг", "мешок", "стройматериалы", "545.00"),
    ("KAB-VVG", "Кабель ВВГнг 3×2,5", "м", "электротехника", "98.40"),
    ("AVT-16", "Автоматический выключатель 16 А", "шт", "электротехника", "356.00"),
    ("SPEC-01", "Костюм рабочий летний", "компл", "спецодежда", "2350.00"),
    ("PERCH-01", "Перчатки х/б", "пара", "спецодежда", "38.00"),
    ("MOL-32", "Молоко 3,2%, 1 л", "шт", "продукты", "89.90"),
    ("SRV-IT", "Обслуживание ИТ-инфраструктуры", "мес", "услуги", "45000.00"),
    ("SRV-DEL", "Доставка по городу", "рейс", "услуги", "2500.00"),
    ("SRV-AUD", "Энергоаудит здания", "усл", "услуги", "180000.00"),
    ("PO-1C", "Лицензия 1С:Бухгалтерия", "шт", "программы", "14800.00"),
    ("PO-AV", "Антивирус, годовая лицензия", "шт", "программы", "2190.00"),
]
FORMS = [
    ("ООО", "Общество с ограниченной ответственностью"),
    ("АО", "Акционерное общество"),
    ("ПАО", "Публичное акционерное общество"),
]


def _address(rng: random.Random, city: tuple[str, str, str, str, str]) -> dict[str, str]:
    streets = [
        "ул. Ленина",
        "пр. Мира",
        "ул. Садовая",
        "ул. Промышленная",
        "ул. Гагарина",
        "наб. Речная",
        "ул. Заводская",
        "пр. Победы",
    ]
    return {
        "index": city[3] + f"{rng.randrange(10000):04d}",
        "region": city[1],
        "city": city[2],
        "street": rng.choice(streets),
        "house": str(rng.randrange(1, 120)),
        "office": str(rng.randrange(1, 400)) if rng.random() < 0.6 else "",
    }


def _organization(rng: random.Random, n: int, manager: str) -> dict[str, object]:
    city = CITIES[n % len(CITIES)]
    bank = rng.choice(BANKS)
    if n % 9 == 8:  # every ninth counterparty is an individual entrepreneur
        person = PEOPLE[n % len(PEOPLE)]
        surname, name, patronymic = person.split()
        values: dict[str, object] = {
            "name": f"Индивидуальный предприниматель {person}",
            "short_name": f"ИП {surname} {name[0]}.{patronymic[0]}.",
            "legal_form": "ИП",
            "inn": make_inn(rng, individual=True, region=city[0]),
            "ogrn": make_ogrn(rng, individual=True, region=city[0]),
        }
    else:
        short, full = FORMS[0] if n % 5 else FORMS[1 + n % 2]
        title = NAMES[n % len(NAMES)]
        values = {
            "name": f"{full} «{title}»",
            "short_name": f"{short} «{title}»",
            "legal_form": short,
            "inn": make_inn(rng, region=city[0]),
            "kpp": f"{city[0]}{rng.randrange(1, 40):02d}01001",
            "ogrn": make_ogrn(rng, region=city[0]),
            "okpo": make_okpo(rng),
        }
    legal = _address(rng, city)
    values.update(
        legal_address=legal,
        actual_address=legal if rng.random() < 0.7 else _address(rng, city),
        phones=[
            f"+7 ({city[4]}) {rng.randrange(200, 999)}-{rng.randrange(10, 99)}-"
            f"{rng.randrange(10, 99)}"
        ],
        emails=[f"info@demo{n:02d}.ru"],
        website=f"https://demo{n:02d}.ru",
        bank_accounts=[
            {
                "bank_name": bank[0],
                "bik": bank[1],
                "correspondent_account": bank[2],
                "settlement_account": make_settlement_account(rng, bank[1]),
            }
        ],
        tags=rng.sample(["клиент", "поставщик", "партнёр", "VIP", "новый", "госзаказчик"], 2),
        responsible=manager,
        notes="Демонстрационные данные",
    )
    if n % 17 == 16:  # a few organizations only the sales group and support may see
        values.update(restricted=True, readers=["group:support"])
    return values


def _day(rng: random.Random, back: int) -> date:
    return TODAY - timedelta(days=rng.randrange(back))


def load(actor: Actor, count: int = 50) -> Iterator[str]:
    """Create the demo directories as `actor` (a sales manager); yield what was done."""
    if Organization.objects(import_batch=DEMO_BATCH).count():
        yield "registry demo exists"
        return
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    catalog: list[Product] = []
    for code, name, unit, kind, price in PRODUCTS:
        found = Product.objects(code=code).first()
        catalog.append(
            found
            or products.create(
                actor,
                {"code": code, "name": name, "unit": unit, "product_type": kind, "price": price},
            )
        )
    made: list[Organization] = []
    for n in range(count):
        org = organizations.create(actor, _organization(rng, n, actor.username))
        Organization.objects(id=org.id).update_one(set__import_batch=DEMO_BATCH)
        made.append(org)
        _linked(rng, actor, org, n, catalog)
    for org in made[:10]:
        chosen = rng.sample(catalog, 4)
        supplier_service.create(
            actor,
            {
                "organization": str(org.id),
                "products": [str(p.id) for p in chosen],
                "product_types": sorted({p.product_type for p in chosen}),
            },
        )
    yield (
        f"registry demo: {len(made)} organizations, {len(catalog)} products, "
        "10 suppliers, with contacts, actions, contracts, invoices and deliveries"
    )


def first_organization() -> Organization | None:
    """The first demo organization (procedures of the demo are started on it)."""
    return Organization.objects(import_batch=DEMO_BATCH).order_by("id").first()


def _linked(
    rng: random.Random, actor: Actor, org: Organization, n: int, catalog: list[Product]
) -> None:
    people = rng.sample(PEOPLE, rng.randrange(1, 4))
    for i, person in enumerate(people):
        contacts.create(
            actor,
            {
                "organization": str(org.id),
                "name": person,
                "position": POSITIONS[i],
                "phones": [
                    f"+7 9{rng.randrange(10, 99)} {rng.randrange(100, 999)}-"
                    f"{rng.randrange(10, 99)}-{rng.randrange(10, 99)}"
                ],
                "emails": [f"person{i}@demo{n:02d}.ru"],
                "is_primary": i == 0,
            },
        )
    for _ in range(rng.randrange(1, 4)):
        day = _day(rng, 120)
        actions.create(
            actor,
            {
                "organization": str(org.id),
                "kind": rng.choice(["call_in", "call_out", "meeting", "email", "visit"]),
                "at": datetime(day.year, day.month, day.day, rng.randrange(9, 18)),
                "subject": rng.choice(
                    [
                        "Запрос цен",
                        "Согласование договора",
                        "Претензия",
                        "Сверка взаиморасчётов",
                        "Новый заказ",
                    ]
                ),
                "result": rng.choice(
                    ["Отправили КП", "Договорились о встрече", "Вопрос закрыт", "Ждём ответа"]
                ),
                "follow_up_on": TODAY + timedelta(days=rng.randrange(1, 30))
                if rng.random() < 0.4
                else None,
            },
        )
    if n % 4 == 3:
        return  # some counterparties have no contracts yet
    roles = ["executor", "customer"] if n % 3 == 0 else [rng.choice(["executor", "customer"])]
    for role in roles:
        start = _day(rng, 300)
        stage = rng.choice(["draft", "approval", "signed", "in_force", "in_force", "closed"])
        amount = Decimal(rng.randrange(50, 5000) * 1000)
        contract = contracts.create(
            actor,
            {
                "organization": str(org.id),
                "role": role,
                "stage": "in_force" if stage == "closed" else stage,
                "number": f"{'Д' if role == 'executor' else 'П'}-{2026}/{n:03d}",
                "date": start,
                "subject": "Поставка товаров" if role == "executor" else "Закупка товаров и услуг",
                "amount": amount,
                "vat_rate": 20,
                "starts_on": start,
                "ends_on": start + timedelta(days=365),
            },
        )
        if stage in ("signed", "in_force", "closed"):
            _money_and_goods(rng, actor, contract.id, start, amount, catalog)
        if stage == "closed":
            contracts.change_stage(actor, contract.id, "closed")


def _money_and_goods(
    rng: random.Random,
    actor: Actor,
    contract_id: object,
    start: date,
    amount: Decimal,
    catalog: list[Product],
) -> None:
    for k in range(rng.randrange(1, 3)):
        issued = start + timedelta(days=10 + 30 * k)
        total = (amount / 4).quantize(Decimal("0.01"))
        paid = rng.choice([Decimal(0), total / 2, total])
        invoices.create(
            actor,
            {
                "contract": str(contract_id),
                "number": f"{rng.randrange(1, 9999)}",
                "date": issued,
                "amount": total,
                "due_on": issued + timedelta(days=14),
                "paid_amount": paid.quantize(Decimal("0.01")),
                "paid_on": issued + timedelta(days=7) if paid else None,
            },
        )
    items = [
        {"product": str(p.id), "quantity": Decimal(rng.randrange(1, 50))}
        for p in rng.sample(catalog, rng.randrange(1, 4))
    ]
    deliveries.create(
        actor,
        {
            "contract": str(contract_id),
            "items": items,
            "date": start + timedelta(days=rng.randrange(5, 60)),
            "status": rng.choice(["planned", "shipped", "delivered"]),
        },
    )
