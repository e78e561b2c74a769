"""Account request models and the account's public shape (API.md section 6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from partner_api.models.common import InputModel, ListQuery, PatchModel, Uuid

# ISO 3166-1 alpha-2, as published in the tz database's iso3166.tab.
_ISO_3166_ALPHA_2 = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES = frozenset(_ISO_3166_ALPHA_2.split())
# Older names some callers still send, and the type each one is stored as.
CONSUMABLE_ALIASES = {"SEAT": "SEATS", "PHONE_AUTH_ANNUAL": "PHONE_AUTH", "KBA_ANNUAL": "KBA"}


def _country(value: str) -> str:
    value = value.upper()
    if value not in COUNTRY_CODES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as US")
    return value


def _normalized_type(value: Any) -> Any:
    return CONSUMABLE_ALIASES.get(value, value) if isinstance(value, str) else value


def _one_per_type(consumables: list[Consumable] | None) -> list[Consumable] | None:
    if consumables is not None and len({c.type for c in consumables}) != len(consumables):
        raise ValueError("each consumable type may appear once")
    return consumables


def _letters_and_digits(value: str) -> str:
    if not (value.isascii() and value.isalnum()):
        raise ValueError("must be letters and digits only")
    return value


AccountName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_letters_and_digits)]
CountryCode = Annotated[str, AfterValidator(_country)]
Text255 = Annotated[str, Field(min_length=1, max_length=255)]
Identifier = Annotated[str, Field(min_length=1, max_length=100)]
ConsumableType = Annotated[Literal["SEATS", "PHONE_AUTH", "KBA"], BeforeValidator(_normalized_type)]
AccountStatus = Literal["active", "inactive"]


class ConsumableAttributes(InputModel):
    # Strict: "3" and true are not caps (a lenient parse would store them as 3 and 1).
    cap: Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]


class Consumable(InputModel):
    type: ConsumableType
    attributes: ConsumableAttributes


Consumables = Annotated[list[Consumable], Field(max_length=3), AfterValidator(_one_per_type)]


class AccountCreate(InputModel):
    name: AccountName
    countryCode: CountryCode
    company: Text255 | None = None
    identifier: Identifier | None = None
    consumables: Consumables | None = None
    status: AccountStatus | None = None
    partnerId: Uuid | None = None


class AccountReplace(InputModel):
    """PUT: every mutable field; omitted ones go back to their defaults."""

    name: AccountName
    countryCode: CountryCode
    company: Text255 | None = None
    identifier: Identifier | None = None
    consumables: Consumables | None = None
    status: AccountStatus | None = None


class AccountPatch(PatchModel):
    name: AccountName | None = None
    countryCode: CountryCode | None = None
    company: Text255 | None = None
    identifier: Identifier | None = None
    consumables: Consumables | None = None
    status: AccountStatus | None = None


class AccountListQuery(ListQuery):
    q: Annotated[str, Field(min_length=1, max_length=255)] | None = None


def seat_cap(record: dict[str, Any]) -> int | None:
    """The account's SEATS cap, or None when it has none (unlimited)."""
    for consumable in record.get("consumables") or []:
        if consumable["type"] == "SEATS":
            return int(consumable["attributes"]["cap"])
    return None


def public_account(record: dict[str, Any], seats_used: int) -> dict[str, Any]:
    shown: dict[str, Any] = {"accountId": record["accountId"], "name": record["name"]}
    for optional in ("company",):
        if record.get(optional):
            shown[optional] = record[optional]
    shown["countryCode"] = record["countryCode"]
    if record.get("identifier"):
        shown["identifier"] = record["identifier"]
    shown["partnerId"] = record["partnerId"]
    shown["consumables"] = [
        {"type": c["type"], "attributes": {"cap": int(c["attributes"]["cap"])}} for c in record["consumables"]
    ]
    shown["usage"] = {"SEATS": seats_used}
    shown["status"] = record["status"]
    shown["createdAt"] = record["createdAt"]
    shown["updatedAt"] = record["updatedAt"]
    return shown
