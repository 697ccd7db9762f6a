"""Organizations against the real database: validation, duplicates, access, search, audit."""

from __future__ import annotations

import pytest

from accounts import service as accounts
from engine.actor import Actor
from registry import contracts, organizations, repository
from registry.errors import (
    ActiveContracts,
    DuplicateOrganization,
    ObjectArchived,
    OrganizationNotFound,
    RegistryForbidden,
    RegistryInvalid,
    StaleObject,
)
from registry.models import AuditEvent, Organization

pytestmark = pytest.mark.usefixtures("db")

SBERBANK = {
    "name": "ПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО «СБЕРБАНК РОССИИ»",
    "short_name": "ПАО Сбербанк",
    "legal_form": "ПАО",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "okpo": "00032537",
    "phones": ["+7 (495) 500-55-50"],
    "emails": ["sberbank@sberbank.ru"],
    "tags": ["Банк", "VIP"],
    "legal_address": {"index": "117312", "city": "Москва", "street": "ул. Вавилова", "house": "19"},
    "bank_accounts": [
        {
            "bank_name": "ПАО Сбербанк",
            "bik": "044525225",
            "correspondent_account": "30101810400000000225",
            "settlement_account": "40702810938000000001",
        }
    ],
}


def make(actor: Actor, **values: object) -> Organization:
    return organizations.create(actor, {"name": "ООО «Ромашка»", **values})


def test_create_normalizes_and_derives_keys(alice: Actor) -> None:
    org = organizations.create(alice, SBERBANK)
    assert org.responsible == "alice"
    assert org.requisites_key == "7707083893/773601001"
    assert "сбербанк" in org.search_tokens and "сбер" in org.search_tokens
    assert org.phone_keys == ["4955005550"]
    assert org.tag_keys == ["vip", "банк"]
    assert org.access.read == ["*", "alice", "group:sales"]
    assert org.access.write == ["alice", "group:sales"]
    stored = Organization.objects.get(id=org.id)
    assert stored.bank_accounts[0].settlement_account == "40702810938000000001"
    assert stored.legal_address.city == "Москва"


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("inn", "7707083894", "inn"),  # Sberbank's INN with a wrong control digit
        ("inn", "77070838", "inn"),
        ("kpp", "77360100", "kpp"),
        ("kpp", "7736ЖЖ001", "kpp"),  # letters must be Latin
        ("ogrn", "1027700132194", "ogrn"),
        ("ogrn", "304500116000157", "ogrn"),  # a valid OGRNIP, but the INN is a company's
        ("okpo", "00032538", "okpo"),
    ],
)
def test_invalid_requisites_name_the_field(
    alice: Actor, field: str, value: str, where: str
) -> None:
    with pytest.raises(RegistryInvalid) as err:
        organizations.create(alice, {**SBERBANK, field: value})
    assert where in err.value.errors


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("bik", "044525226x"),
        ("bik", "123456789"),
        ("correspondent_account", "30101810400000000226"),
        ("settlement_account", "40702810938000000002"),
        ("settlement_account", "4070281093800000000"),
    ],
)
def test_invalid_bank_requisites_name_the_field(alice: Actor, key: str, value: str) -> None:
    account = {**SBERBANK["bank_accounts"][0], key: value}  # type: ignore[index]
    with pytest.raises(RegistryInvalid) as err:
        organizations.create(alice, {**SBERBANK, "bank_accounts": [account]})
    assert f"bank_accounts.0.{key}" in err.value.errors


def test_name_email_phone_and_address_errors(alice: Actor) -> None:
    with pytest.raises(RegistryInvalid) as err:
        organizations.create(
            alice,
            {
                "name": " ",
                "emails": ["no-at-sign"],
                "phones": ["12"],
                "postal_address": {"index": "1234"},
            },
        )
    assert set(err.value.errors) == {"name", "emails.0", "phones.0", "postal_address.index"}


def test_individual_entrepreneur(alice: Actor) -> None:
    org = make(alice, name="ИП Иванов Иван Иванович", inn="500100732259", ogrn="304500116000157")
    assert org.requisites_key == "500100732259/"
    with pytest.raises(RegistryInvalid) as err:
        make(alice, name="ИП Петров", inn="500100732259", kpp="773601001")
    assert "kpp" in err.value.errors


def test_duplicate_inn_kpp_points_at_the_existing_one(alice: Actor, bob: Actor) -> None:
    first = organizations.create(alice, SBERBANK)
    with pytest.raises(DuplicateOrganization) as err:
        organizations.create(bob, {**SBERBANK, "name": "Сбер ещё раз"})
    assert err.value.errors["existing"] == {"id": str(first.id), "name": "ПАО Сбербанк"}
    # Another KPP (a branch) is another organization.
    organizations.create(bob, {**SBERBANK, "kpp": "775002001", "short_name": "Филиал"})
    other = make(alice, inn="7736207543")
    with pytest.raises(DuplicateOrganization):
        organizations.update(alice, other.id, {"inn": "7707083893", "kpp": "773601001"})


def test_update_records_who_what_and_when(alice: Actor) -> None:
    org = make(alice, phones=["8 495 111-22-33"])
    changed = organizations.update(
        alice, org.id, {"short_name": "Ромашка", "phones": ["+7 495 111 22 44"]}
    )
    assert changed.version == 2 and changed.phone_keys == ["4951112244"]
    assert changed.sort_name.startswith("ромашка\x00")
    events = repository.audit_trail("organization", str(org.id))
    assert [e.action for e in events] == ["updated", "created"]
    assert events[0].actor == "alice"
    assert events[0].changes["short_name"] == {"from": "", "to": "Ромашка"}
    assert set(events[0].changes) == {"short_name", "phones"}
    # Nothing changed: no write, no event.
    organizations.update(alice, org.id, {"short_name": "Ромашка"})
    assert AuditEvent.objects(object_id=str(org.id)).count() == 2


def test_stale_version_is_refused(alice: Actor) -> None:
    org = make(alice)
    organizations.update(alice, org.id, {"notes": "first"}, expected_version=1)
    with pytest.raises(StaleObject):
        organizations.update(alice, org.id, {"notes": "second"}, expected_version=1)


def test_unknown_responsible_is_refused(alice: Actor) -> None:
    with pytest.raises(RegistryInvalid) as err:
        make(alice, responsible="nobody")
    assert "responsible" in err.value.errors


def test_access_default_everyone_reads_managers_group_writes(alice: Actor, bob: Actor) -> None:
    carol = Actor("carol", frozenset({"support"}))
    org = make(alice)
    assert organizations.get(carol, org.id).id == org.id
    organizations.update(bob, org.id, {"notes": "bob is in sales too"})
    with pytest.raises(RegistryForbidden):
        organizations.update(carol, org.id, {"notes": "support may not"})


def test_restricted_organization_is_invisible_to_others(alice: Actor, bob: Actor) -> None:
    carol = Actor("carol", frozenset({"support"}))
    dave = Actor("dave", frozenset({"audit"}))
    org = make(alice, name="ООО «Тайна»", restricted=True, readers=["group:support"])
    public = make(alice, name="ООО «Открытость»")
    assert organizations.get(carol, org.id).id == org.id  # a reader by group
    with pytest.raises(OrganizationNotFound):
        organizations.get(dave, org.id)
    names = [o.name for o in organizations.find(dave).items]
    assert names == ["ООО «Открытость»"]
    assert len(organizations.find(Actor("root", is_admin=True)).items) == 2
    # Making it public again shows it to everyone, and the change reaches linked objects.
    contract = contracts.create(
        alice, {"organization": str(org.id), "role": "executor", "number": "Д-1"}
    )
    with pytest.raises(Exception):  # noqa: B017 - not found for dave either way
        contracts.get(dave, contract.id)
    organizations.update(alice, org.id, {"restricted": False})
    assert organizations.get(dave, org.id).id == org.id
    assert contracts.get(dave, contract.id).id == contract.id
    assert public.access.read[0] == "*"


def test_responsible_change_moves_write_access(alice: Actor) -> None:
    accounts.create_user("victor", "password-1", ["purchasing"])
    org = make(alice)
    changed = organizations.update(alice, org.id, {"responsible": "victor"})
    assert changed.access.write == ["victor", "group:purchasing"]
    victor = Actor("victor", frozenset({"purchasing"}))
    organizations.update(victor, org.id, {"notes": "mine now"})
    with pytest.raises(RegistryForbidden):
        organizations.update(alice, org.id, {"notes": "not mine any more"})


def test_archive_is_soft_and_refused_with_active_contracts(alice: Actor) -> None:
    org = make(alice)
    contract = contracts.create(
        alice,
        {"organization": str(org.id), "role": "customer", "number": "П-7", "stage": "in_force"},
    )
    with pytest.raises(ActiveContracts) as err:
        organizations.archive(alice, org.id)
    assert err.value.errors["contracts"][0]["number"] == "П-7"
    contracts.change_stage(alice, contract.id, "closed")
    archived = organizations.archive(alice, org.id)
    assert archived.archived and archived.archived_by == "alice"
    assert Organization.objects(id=org.id).count() == 1
    assert organizations.find(alice).items == []
    assert [o.id for o in organizations.find(alice, archived=True).items] == [org.id]
    with pytest.raises(ObjectArchived):
        organizations.update(alice, org.id, {"notes": "x"})
    organizations.restore(alice, org.id)
    actions = [e.action for e in repository.audit_trail("organization", str(org.id))]
    assert actions == ["restored", "archived", "created"]


NAMES = [
    "ООО «Ромашка»",
    "АО «Ромашковое поле»",
    "ООО «Василёк»",
    "Yandex LLC",
    "ИП Ёлкин Пётр",
    "ООО «СЕВЕРНАЯ РОМАШКА»",
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ромаш", {"ООО «Ромашка»", "АО «Ромашковое поле»", "ООО «СЕВЕРНАЯ РОМАШКА»"}),
        ("РОМАШ", {"ООО «Ромашка»", "АО «Ромашковое поле»", "ООО «СЕВЕРНАЯ РОМАШКА»"}),
        ("Ромашка", {"ООО «Ромашка»", "ООО «СЕВЕРНАЯ РОМАШКА»"}),
        ("сев ром", {"ООО «СЕВЕРНАЯ РОМАШКА»"}),
        ("ооо ром", {"ООО «Ромашка»", "ООО «СЕВЕРНАЯ РОМАШКА»"}),
        ("василек", {"ООО «Василёк»"}),  # ё and е agree
        ("ВАСИЛЁ", {"ООО «Василёк»"}),
        ("ёлкин", {"ИП Ёлкин Пётр"}),
        ("yand", {"Yandex LLC"}),
        ("YANDEX", {"Yandex LLC"}),
        ("машк", set()),  # word prefixes, not fragments inside words
        ("«", set()),
    ],
)
def test_search_by_name_prefix_any_case(alice: Actor, query: str, expected: set[str]) -> None:
    for name in NAMES:
        make(alice, name=name)
    found = {o.name for o in organizations.find(alice, q=query).items}
    assert found == expected


def test_search_by_fragment_inside_words(alice: Actor) -> None:
    for name in NAMES:
        make(alice, name=name)
    found = {o.name for o in organizations.find(alice, q="МАШК", match="contains").items}
    assert found == {"ООО «Ромашка»", "АО «Ромашковое поле»", "ООО «СЕВЕРНАЯ РОМАШКА»"}


def test_search_by_inn_phone_email_tag(alice: Actor) -> None:
    sber = organizations.create(alice, SBERBANK)
    make(
        alice,
        name="ООО «Другая»",
        phones=["8 (812) 000-00-01"],
        emails=["Info@Drug.RU"],
        tags=["партнёр"],
    )
    assert [o.id for o in organizations.find(alice, q="7707083893").items] == [sber.id]
    assert [o.id for o in organizations.find(alice, inn="7707083893").items] == [sber.id]
    assert [o.id for o in organizations.find(alice, q="1027700132195").items] == [sber.id]
    assert [o.id for o in organizations.find(alice, phone="84955005550").items] == [sber.id]
    assert [o.name for o in organizations.find(alice, phone="+7 812 000 00 01").items] == [
        "ООО «Другая»"
    ]
    assert [o.name for o in organizations.find(alice, email="info@drug.ru").items] == [
        "ООО «Другая»"
    ]
    assert [o.name for o in organizations.find(alice, tag="ПАРТНЁР").items] == ["ООО «Другая»"]
    assert [o.id for o in organizations.find(alice, tag="vip").items] == [sber.id]


def test_cursor_pagination_and_sorts(alice: Actor) -> None:
    for i in range(7):
        make(alice, name=f"ООО «Компания {i}»")
    seen: list[str] = []
    page = organizations.find(alice, q="компания", limit=3)
    while True:
        seen += [o.name for o in page.items]
        if page.next_cursor is None:
            break
        page = organizations.find(alice, q="компания", limit=3, cursor=page.next_cursor)
    assert seen == [f"ООО «Компания {i}»" for i in range(7)]
    newest = organizations.find(alice, sort="-created", limit=2)
    assert [o.name for o in newest.items] == ["ООО «Компания 6»", "ООО «Компания 5»"]
    with pytest.raises(RegistryInvalid) as err:
        organizations.find(alice, sort="-name", cursor=newest.next_cursor)
    assert "cursor" in err.value.errors
    with pytest.raises(RegistryInvalid):
        organizations.find(alice, cursor="not-a-cursor")
    reverse = organizations.find(alice, sort="-name", limit=7)
    assert [o.name for o in reverse.items] == [f"ООО «Компания {i}»" for i in range(6, -1, -1)]


@pytest.mark.slow
def test_search_pages_a_thousand_organizations(alice: Actor) -> None:
    rows = []
    for i in range(1000):
        org = Organization(
            name=f"ООО «Фирма {i:04d} Ромашка»" if i % 10 == 0 else f"ООО «Фирма {i:04d}»",
            responsible="alice",
            access=organizations.access_for("alice", ["sales"], False, [], []),
        )
        organizations.index_keys(org)
        rows.append(org.to_mongo().to_dict())
    Organization._get_collection().insert_many(rows)
    page = organizations.find(alice, q="ромаш", limit=20)
    assert len(page.items) == 20 and page.next_cursor
