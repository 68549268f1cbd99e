#!/usr/bin/env python3
"""Seeds a running anzu server through its API, for the fuzzer and the generated client's scenario.

    .ci/seed.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD

The administrator must exist (`anzu admin create`). Makes a village with a grid, an active landlord and an
inspector in it, and a property with a unit and a declared tenant; prints one JSON object with the ids and an
access token per role. Standard library only; any answer other than the expected status stops it with the
body on stderr.
"""
import json
import sys
import urllib.error
import urllib.request


def call(base, method, path, body=None, token=None, expect=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status not in expect:
        sys.exit(f"{method} {path}: {status} {text}")
    return json.loads(text) if text else None


def login(base, who, password):
    return call(base, "POST", "/api/v1/auth/login", {"login": who, "password": password})["access_token"]


def main():
    base, admin_email, admin_password = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    admin = login(base, admin_email, admin_password)
    village = call(base, "POST", "/api/v1/villages", {"name": "Fuzz Village", "code": "FUZZ"}, admin)
    grid = call(base, "POST", f"/api/v1/villages/{village['id']}/grids", {"name": "Grid One", "code": "G1"}, admin)
    people = {}
    for role, phone in (("landlord", "13800000001"), ("inspector", "13800000002"), ("auditor", "13800000003")):
        email = f"{role}@fuzz.example.cn"
        password = f"{role}-password-1"
        user = call(base, "POST", "/api/v1/users", {
            "full_name": f"Fuzz {role}", "email": email, "phone": phone, "password": password,
            "role": role, "village_id": village["id"],
        }, admin)
        people[role] = {"id": user["id"], "email": email, "password": password,
                        "token": login(base, email, password)}
    landlord = people["landlord"]["token"]
    prop = call(base, "POST", "/api/v1/properties", {
        "name": "Fuzz House", "address": "1 Fuzz Lane", "village_id": village["id"], "grid_id": grid["id"],
        "kind": "shared_house", "floors": 3, "floor_area_m2": 240.0, "mixed_use_residence": False,
    }, landlord)
    unit = call(base, "POST", f"/api/v1/properties/{prop['id']}/units",
                {"label": "101", "floor": 1, "area_m2": 30.0, "kind": "room"}, landlord)
    tenancy = call(base, "POST", f"/api/v1/units/{unit['id']}/tenancies", {
        "tenant": {"full_name": "Zhang San", "id_type": "passport", "id_number": "E12345678"},
        "move_in_date": "2026-01-15",
    }, landlord)
    print(json.dumps({
        "admin_token": admin, "village_id": village["id"], "grid_id": grid["id"], "people": people,
        "property_id": prop["id"], "registration_code": prop["registration_code"], "unit_id": unit["id"],
        "tenancy_id": tenancy["id"],
    }))


if __name__ == "__main__":
    main()
