"""The service under a real uvicorn on a loopback port, through a real HTTP client."""

from __future__ import annotations

import httpx
from server_helpers import ServerWorld, case_args, note_dict, serve_on_loopback


def test_enrol_push_pull_over_real_http(world: ServerWorld) -> None:
    team = world.team("Fältgruppen Syd")
    world.user("anna", "worker", team, "Anna Andersson")
    code = world.enroll_code("anna")
    with serve_on_loopback(world.app) as base, httpx.Client(base_url=base, timeout=10) as http:
        health = http.get("/v1/health").json()
        assert health["service"] == "fieldkit-server"
        enrolled = http.post("/v1/enroll", json={"code": code, "device_name": "Laptop 7"}).json()
        token = http.post(
            "/v1/auth/token",
            json={
                "device_id": enrolled["device_id"],
                "device_secret": enrolled["device_secret"],
            },
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        from server_helpers import Device

        dev = Device(
            world,
            "anna",
            enrolled["user"]["id"],
            "worker",
            team,
            enrolled["device_id"],
            enrolled["device_secret"],
            token,
        )
        args = case_args(dev)
        note = note_dict(dev, args["case"]["id"], text="Träffade Kalle på fritidsgården.")
        pushed = http.post(
            "/v1/sync/push",
            headers=h,
            json={
                "protocol": 1,
                "mutations": [
                    dev.mutation("case.create", **args),
                    dev.mutation("note.create", note=note),
                ],
            },
        )
        assert pushed.status_code == 200 and pushed.json()["last_mutation_id"] == 2
        pulled = http.get("/v1/sync/pull", headers=h).json()
        assert {c["record_id"] for c in pulled["changes"]} >= {args["case"]["id"], note["id"]}
        integrity = http.get("/v1/sync/integrity", headers=h).json()
        assert {c["record_type"]: c["count"] for c in integrity["counts"]}["note"] == 1
        big = http.post(
            "/v1/sync/push",
            headers={**h, "Content-Type": "application/json"},
            content=b"[" + b" " * (3 * 1024 * 1024) + b"]",
        )
        assert big.status_code == 413
        assert big.json()["error"]["code"] == "payload_too_large"
        assert http.get("/v1/nowhere").json()["error"]["code"] == "not_found"
