def test_register_list_get_update_remove(api, tenant):
    r = api.call(
        "POST",
        "/partner/v1/clients",
        token=tenant.token,
        json_body={"name": "John Doe", "email": "John.Doe@example.com"},
    )
    assert r.status == 201, r.text
    cid = r.body["data"]["clientId"]
    r = api.call("GET", "/partner/v1/clients", token=tenant.token)
    assert r.status == 200, r.text
    print(r.body)
    r = api.call("GET", f"/partner/v1/clients/{cid}", token=tenant.token)
    assert r.status == 200, r.text
    etag = r.header("ETag")
    r = api.call(
        "PATCH",
        f"/partner/v1/clients/{cid}",
        token=tenant.token,
        json_body={"status": "suspended"},
        headers={"If-Match": etag},
    )
    assert r.status == 200, r.text
    r = api.call("DELETE", f"/partner/v1/clients/{cid}", token=tenant.token)
    assert r.status == 200, r.text
    r = api.call("DELETE", f"/partner/v1/clients/{cid}", token=tenant.token)
    assert r.status == 200, r.text
    print(r.body)
