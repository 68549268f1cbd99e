#!/usr/bin/env python3
"""Drives anzu through a Python client generated from its OpenAPI document, as a mobile developer would.

    .ci/client_scenario.py BASE_URL SEED_JSON CLIENT_DIR

CLIENT_DIR holds the package `anzu_client` made by `openapi-python-client generate --meta none`. SEED_JSON is
what `.ci/seed.py` printed. The scenario: a landlord logs in, registers a property, adds a unit, declares a
tenant, and reads the declaration back; a declaration with a bad identity number is refused with a problem
naming the field. Every answer is parsed by the generated models (dates as dates, ids as UUIDs, enums as
enums), so a document that does not match the server fails here. Exits non-zero on the first surprise.
"""
import datetime
import json
import sys
import uuid


def check(condition, what):
    if not condition:
        sys.exit(f"client scenario: {what}")


def resident_id(region: str, birth: datetime.date, sequence: int) -> str:
    """A valid GB 11643 resident ID number: 17 digits and the check character."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights))
    return first17 + "10X98765432"[total % 11]


def main():
    base_url, seed_path, client_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, client_dir)
    from anzu_client import AuthenticatedClient, Client
    from anzu_client.api.auth import login
    from anzu_client.api.registry import create_property, create_unit, declare_tenancy, get_tenancy, list_tenancies
    from anzu_client.models import (
        CreateProperty,
        CreateUnit,
        DeclareTenancy,
        IdType,
        LoginRequest,
        Problem,
        PropertyKind,
        RentalUnit,
        Tenancy,
        TenantInput,
        TokenResponse,
        UnitKind,
    )
    from anzu_client.models import Property as PropertyModel

    seed = json.load(open(seed_path))
    landlord = seed["people"]["landlord"]

    tokens = login.sync(client=Client(base_url=base_url),
                        body=LoginRequest(login=landlord["email"], password=landlord["password"]))
    check(isinstance(tokens, TokenResponse), f"login answered {tokens!r}")
    check(tokens.token_type == "Bearer", "the token type is Bearer")
    client = AuthenticatedClient(base_url=base_url, token=tokens.access_token)

    village_id = uuid.UUID(seed["village_id"])
    created = create_property.sync_detailed(client=client, idempotency_key=str(uuid.uuid4()), body=CreateProperty(
        name="Client House", address="2 Generated Road", village_id=village_id, kind=PropertyKind.SHARED_HOUSE,
        floors=2, floor_area_m2=120.5, mixed_use_residence=False))
    prop = created.parsed
    check(created.status_code == 201 and isinstance(prop, PropertyModel), f"create property: {created.status_code}")
    check(prop.village_id == village_id and prop.kind == PropertyKind.SHARED_HOUSE, "the property as sent")
    check(created.headers.get("etag") == f'"{prop.version}"', "the property's ETag is its version")

    unit = create_unit.sync(prop.id, client=client, body=CreateUnit(
        label="201", floor=2, area_m2=18.0, kind=UnitKind.ROOM, max_occupants=2))
    check(isinstance(unit, RentalUnit) and unit.property_id == prop.id, f"create unit: {unit!r}")

    move_in = datetime.date.today() - datetime.timedelta(days=1)
    number = resident_id("110105", datetime.date(1990, 3, 7), 123)
    declared = declare_tenancy.sync(unit.id, client=client, body=DeclareTenancy(
        tenant=TenantInput(full_name="Li Si", id_type=IdType.RESIDENT_ID, id_number=number, phone="13912345678"),
        move_in_date=move_in))
    check(isinstance(declared, Tenancy), f"declare tenancy: {declared!r}")

    tenancy = get_tenancy.sync(declared.id, client=client)
    check(isinstance(tenancy, Tenancy), f"read tenancy back: {tenancy!r}")
    check(tenancy.unit_id == unit.id and tenancy.move_in_date == move_in, "the tenancy as declared")
    check(tenancy.tenant.id_type == IdType.RESIDENT_ID, "the document type as declared")
    masked = tenancy.tenant.id_number_masked
    check(masked.startswith(number[:3]) and masked.endswith(number[-2:]) and number not in masked,
          "the identity number is masked")
    check(tenancy.tenant.birth_year == 1990, "the birth year is derived from the number")

    page = list_tenancies.sync(client=client, unit_id=unit.id)
    check(page is not None and [t.id for t in page.items] == [declared.id], "the unit's tenancies list it")

    refused = declare_tenancy.sync_detailed(unit.id, client=client, body=DeclareTenancy(
        tenant=TenantInput(full_name="Wang Wu", id_type=IdType.RESIDENT_ID, id_number=number[:-1] + "0"
                           if number[-1] != "0" else number[:-1] + "1"),
        move_in_date=move_in))
    problem = refused.parsed
    check(refused.status_code == 422 and isinstance(problem, Problem), f"a bad number: {refused.status_code}")
    check([e.field for e in problem.errors] == ["tenant.id_number"], "the problem names the field")
    print("client scenario: login, property, unit, declaration, read back, refusal: all as documented")


if __name__ == "__main__":
    main()
