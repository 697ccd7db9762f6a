"""Demo data of the records office: journals with templates, registered documents, appeals,
this year's case nomenclature. Loading twice changes nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import docx

from engine.actor import Actor
from engine.models import utcnow

from . import appeals, cards, files, journals, nomenclature, office, signatures, templates
from .models import RegistrationJournal

JOURNALS = [  # code, name, kind, number template, department, case index
    ("ВХ", "Входящие документы", "incoming", "{journal}-{seq:04}/{yy}", "", "01-05"),
    ("ИСХ", "Исходящие документы", "outgoing", "{dept}-{seq:04}/{yy}", "01", "01-05"),
    ("ВН", "Внутренние документы", "internal", "{journal}-{seq}", "", "01-01"),
    ("ОГ", "Обращения граждан", "appeal", "{journal}-{seq}/{yy}", "", "02-03"),
]
CASES = [  # index, title, retention years (None: permanent), article of the standard list
    ("01-01", "Приказы по основной деятельности", None, "ст. 19а"),
    ("01-05", "Переписка с организациями", 5, "ст. 70"),
    ("02-03", "Обращения граждан и документы по их рассмотрению", 5, "ст. 154"),
]
CORRESPONDENTS = [
    "ООО «Ромашка»",
    "АО «Северсталь-Торг»",
    "ИП Петров А. В.",
    "Администрация г. Твери",
    "ПАО «Вектор»",
]
INCOMING = [
    "Запрос о сверке взаиморасчётов",
    "Претензия по поставке",
    "Коммерческое предложение",
    "Письмо о смене реквизитов",
    "Приглашение на совещание",
    "Акт сверки",
    "Запрос документов",
    "Уведомление о проверке",
    "Гарантийное письмо",
    "Заявка на поставку",
    "Письмо о продлении договора",
    "Благодарственное письмо",
]
OUTGOING = [
    "Ответ на запрос о сверке",
    "Ответ на претензию",
    "Коммерческое предложение",
    "Уведомление о смене реквизитов",
    "Письмо о задержке поставки",
    "Счёт на оплату",
    "Сопроводительное письмо",
    "Письмо-согласие",
    "Приглашение к сотрудничеству",
    "Ответ на заявку",
]
INTERNAL = [
    "Приказ об отпуске",
    "Служебная записка о закупке",
    "Приказ о командировке",
    "Распоряжение об инвентаризации",
    "Служебная записка о премировании",
    "Приказ о назначении ответственного",
    "Протокол совещания",
    "Акт списания",
]
APPEALS = [
    (
        [{"name": "Иванов Иван Иванович", "postal_address": "г. Тверь, ул. Мира, д. 1, кв. 5"}],
        "0003.0009.0097.0680",
        "post",
        "О ремонте дороги во дворе дома",
    ),
    (
        [{"name": "Смирнова Ольга Петровна", "email": "o.smirnova@example.org"}],
        "0002.0006.0064.0345",
        "email",
        "О начислении платы за вывоз мусора",
    ),
    ([], "0003.0008.0086.0562", "web", "О шуме от строительства по ночам"),
    (
        [
            {"name": "Кузнецов Пётр", "postal_address": "г. Тверь, пр. Победы, 10"},
            {"name": "Кузнецова Анна", "postal_address": "г. Тверь, пр. Победы, 10"},
        ],
        "0003.0009.0097.0680",
        "personal",
        "Коллективное обращение об освещении двора",
    ),
    (
        [{"name": "Иванов Иван Иванович", "postal_address": "г. Тверь, ул. Мира, д. 1, кв. 5"}],
        "0003.0009.0097.0680",
        "post",
        "Повторно о ремонте дороги во дворе дома",
    ),
]


def contract_template() -> bytes:
    """A small contract DOCX with Jinja placeholders for an organization and a contract."""
    doc = docx.Document()
    doc.add_heading("Договор поставки № {{ contract.number }}", level=1)
    doc.add_paragraph("г. Тверь, {{ document.date }}")
    doc.add_paragraph(
        "{{ organization.name }} (ИНН {{ organization.inn }}, КПП "
        "{{ organization.kpp }}), именуемое «Покупатель», заключило настоящий "
        "договор о нижеследующем."
    )
    doc.add_paragraph("Сумма договора: {{ contract.amount }} руб.")
    doc.add_paragraph(
        "Реквизиты покупателя: {% for a in organization.bank_accounts %}"
        "р/с {{ a.account }} в {{ a.bank }}, БИК {{ a.bik }}, "
        "к/с {{ a.correspondent_account }}{% endfor %}"
    )
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def load(clerk: Actor, secret_key: str) -> Iterator[str]:
    """Create the records-office demo once; yield what was done."""
    if RegistrationJournal.objects(code="ВХ").first() is not None:
        yield "records office demo exists"
        return
    today = utcnow().date()
    nom = nomenclature.create_nomenclature(clerk, today.year)
    for index, title, years, article in CASES:
        nomenclature.add_case(clerk, nom.id, index, title, years, article)
    nomenclature.approve(clerk, nom.id)
    yield f"nomenclature {today.year} with {len(CASES)} case files"
    template = templates.upload_template(
        clerk,
        "Договор поставки",
        "договор.docx",
        io.BytesIO(contract_template()),
        "contract",
        "Типовой договор поставки",
    )
    made = {}
    for code, name, kind, number_template, dept, case in JOURNALS:
        made[code] = journals.create_journal(
            clerk, code, name, kind, number_template, dept, case, read=["*"], write=["group:office"]
        )
    made["ИСХ"].update(push__template_ids=template.id)
    yield f"journals {', '.join(made)} with template «{template.name}»"
    count = 0
    for kind, code, titles in (
        ("incoming", "ВХ", INCOMING),
        ("outgoing", "ИСХ", OUTGOING),
        ("internal", "ВН", INTERNAL),
    ):
        for i, title in enumerate(titles):
            correspondent = {"name": CORRESPONDENTS[i % len(CORRESPONDENTS)]}
            doc = office.create_document(
                clerk,
                kind,
                title,
                summary=f"{title} (демо)",
                pages=1 + i % 4,
                correspondent=correspondent if kind != "internal" else None,
                document_date=today - timedelta(days=i),
                journal=made[code],
            )
            card = cards.register_document(
                clerk,
                doc.id,
                made[code].id,
                resolution="Подготовить ответ" if i % 3 == 0 else "",
                executors=["manager"] if i % 2 == 0 else [],
                due_in_working_days=10 if i % 2 == 0 else None,
                under_control=i % 4 == 0,
            )
            if i % 5 == 4:
                cards.set_status(clerk, card.id, "executed")
                cards.transfer_to_case(clerk, card.id)
            count += 1
    yield f"{count} registered documents"
    for authors, topic, channel, summary in APPEALS:
        appeals.register_appeal(clerk, made["ОГ"].id, authors, topic, channel, summary)
    yield f"{len(APPEALS)} citizens' appeals"
    signatures.issue_key(clerk.username, secret_key, full_name="Делопроизводитель Ксения")
    scan = files.upload(clerk, "письмо.txt", io.BytesIO("Текст письма".encode()))
    first = office.list_documents(clerk, kind="outgoing", limit=1)[0]
    office.attach_file(clerk, first.id, scan.id)
    signatures.sign_file(clerk, scan.id, secret_key, document_id=first.id)
    yield f"a signing key for {clerk.username} and a signed file on {first.reg_number}"
