"""Number templates (`{dept}-{seq:04}/{yy}`) and gapless numbering per journal and year.

A number is taken in three steps: the counter document `"<journal>:<year>"` is incremented
atomically (`$inc`, by `_id`), the number is logged as a `NumberReservation` ("reserved"),
then the card that uses it marks it "used". A number is never given twice and never given
back: a cancelled reservation stays in the log as "cancelled", so every number from 1 to
the counter is accounted for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from bson import ObjectId
from mongoengine.errors import NotUniqueError

from engine.actor import Actor
from engine.models import utcnow

from . import repository
from .errors import NumberTemplateInvalid, ReservationNotFound, ReservationNotOpen
from .models import NumberReservation, RegistrationJournal

TOKENS = {
    "seq": "the sequence number in the journal and year; {seq:04} pads to 4 digits",
    "yyyy": "the year of registration, four digits",
    "yy": "the year of registration, two digits",
    "journal": "the journal's index (code)",
    "dept": "the department index",
    "case": "the case index from the nomenclature",
    "corr": "the correspondent's own number of the document",
}
MAX_PAD = 12
# Left to right: an escaped brace, a token, plain text, or a lone brace (an error).
_SCAN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[^{}]+|[{}]")
_NAME = re.compile(r"^([a-z]+)(?::(0?)(\d{1,2}))?$")


@dataclass(frozen=True)
class Part:
    """A literal piece of text (`name` empty) or a token with its padding."""

    text: str = ""
    name: str = ""
    pad: int = 0


@dataclass(frozen=True)
class NumberTemplate:
    """A parsed number template; `format` builds a registration number."""

    source: str
    parts: tuple[Part, ...]

    def format(
        self, seq: int, on: date, journal: str = "", dept: str = "", case: str = "", corr: str = ""
    ) -> str:
        """The registration number for sequence `seq` registered on `on`."""
        values = {
            "seq": str(seq),
            "yyyy": f"{on.year:04d}",
            "yy": f"{on.year % 100:02d}",
            "journal": journal,
            "dept": dept,
            "case": case,
            "corr": corr,
        }
        out = []
        for part in self.parts:
            if part.name:
                value = values[part.name]
                out.append(value.zfill(part.pad) if part.pad else value)
            else:
                out.append(part.text)
        return "".join(out)


def parse_template(source: str) -> NumberTemplate:
    """Parse and check a template: known tokens, one `{seq}`, `{{`/`}}` for literal braces."""
    if not isinstance(source, str) or not source.strip() or len(source) > 200:
        raise NumberTemplateInvalid(
            "a number template is 1 to 200 characters", {"number_template": ["1 to 200 characters"]}
        )
    parts: list[Part] = []
    errors: list[str] = []
    seq_at: list[int] = []  # 1-based positions of each {seq}, for the error message
    literal = ""
    for match in _SCAN.finditer(source):
        piece, inner = match.group(0), match.group(1)
        if piece in ("{{", "}}"):
            literal += piece[0]
        elif inner is not None:
            if literal:
                parts.append(Part(text=literal))
                literal = ""
            found = _NAME.match(inner)
            if not found or found.group(1) not in TOKENS:
                errors.append(
                    f"position {match.start() + 1}: unknown token {{{inner}}}; known: "
                    + ", ".join(f"{{{t}}}" for t in TOKENS)
                )
                continue
            name, _, width = found.groups()
            pad = int(width) if width else 0
            if pad > MAX_PAD:
                errors.append(
                    f"position {match.start() + 1}: padding of {{{name}}} is at most {MAX_PAD}"
                )
            parts.append(Part(name=name, pad=pad))
            if name == "seq":
                seq_at.append(match.start() + 1)
        elif piece in ("{", "}"):
            errors.append(
                f"position {match.start() + 1}: a lone brace; "
                "write {{ or }} for a literal brace"
            )
        else:
            literal += piece
    if literal:
        parts.append(Part(text=literal))
    if not seq_at:
        errors.append("the template needs exactly one {seq}: there is none")
    elif len(seq_at) > 1:
        errors.append(
            "the template needs exactly one {seq}: a second one at position " + str(seq_at[1])
        )
    if errors:
        raise NumberTemplateInvalid(
            f"number template {source!r} is invalid", {"number_template": errors}
        )
    return NumberTemplate(source=source, parts=tuple(parts))


def format_for(
    journal: RegistrationJournal, seq: int, on: date, case: str = "", corr: str = ""
) -> str:
    """The number a journal gives for `seq` on date `on`."""
    return parse_template(journal.number_template).format(
        seq,
        on,
        journal=journal.code,
        dept=journal.department,
        case=case or journal.case_index,
        corr=corr,
    )


def reserve(
    actor: Actor, journal: RegistrationJournal, on: date, case: str = "", corr: str = ""
) -> NumberReservation:
    """Take the next number of the journal for `on`'s year and log it as reserved."""
    seq = repository.next_seq(journal.id, on.year)
    reservation = NumberReservation(
        journal_id=journal.id,
        year=on.year,
        seq=seq,
        number=format_for(journal, seq, on, case, corr),
        status="reserved",
        reserved_by=actor.username,
        reserved_at=utcnow(),
    )
    try:
        reservation.save(force_insert=True)
    except NotUniqueError as exc:
        # The unique index on (journal, year, seq) is the last guard against a duplicate.
        raise ReservationNotOpen(f"number {seq} of {on.year} was taken twice") from exc
    return reservation


def mark_used(reservation: NumberReservation, card_id: ObjectId) -> None:
    """Record that a card carries the reserved number."""
    updated = NumberReservation.objects(id=reservation.id, status="reserved").update_one(
        set__status="used", set__card_id=card_id, set__used_at=utcnow()
    )
    if not updated:
        raise ReservationNotOpen(f"number {reservation.number} is no longer reserved")
    reservation.reload()


def get_reservation(reservation_id: Any) -> NumberReservation:
    """A reservation by id."""
    oid = repository.object_id(reservation_id)
    found = NumberReservation.objects(id=oid).first() if oid else None
    if found is None:
        raise ReservationNotFound(f"no reservation {reservation_id}")
    return found


def cancel(actor: Actor, reservation: NumberReservation, reason: str = "") -> NumberReservation:
    """Cancel an unused reservation; the number stays in the log and is not given again."""
    updated = NumberReservation.objects(id=reservation.id, status="reserved").update_one(
        set__status="cancelled",
        set__cancelled_by=actor.username,
        set__cancelled_at=utcnow(),
        set__reason=reason,
    )
    if not updated:
        raise ReservationNotOpen(f"number {reservation.number} is {reservation.status} already")
    reservation.reload()
    return reservation


def log(journal_id: ObjectId, year: int) -> list[NumberReservation]:
    """Every number taken in a journal and year, in order."""
    return list(NumberReservation.objects(journal_id=journal_id, year=year).order_by("seq"))


def gaps(journal_id: ObjectId, year: int) -> list[int]:
    """Numbers up to the counter that have no log entry (a crash between the two writes)."""
    last = repository.current_seq(journal_id, year)
    seen = {r.seq for r in NumberReservation.objects(journal_id=journal_id, year=year).only("seq")}
    return [n for n in range(1, last + 1) if n not in seen]


def describe_tokens() -> dict[str, Any]:
    """The tokens a template may use, for forms and documentation."""
    return dict(TOKENS)
