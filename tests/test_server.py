"""tinyrnn serve: the JSON API (in process) and a real server under concurrent load."""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from starlette.testclient import TestClient

from tinyrnn.explain import explain_text
from tinyrnn.gradcheck import random_classifier
from tinyrnn.io import save_model
from tinyrnn.models import LanguageModel
from tinyrnn.sampling import generate
from tinyrnn.server import Limits, create_app
from tinyrnn.vocab import SPECIALS

HOSTS = {"127.0.0.1", "localhost", "testserver"}


def classifier():
    return random_classifier(np.random.default_rng(0), 7, 6, 3, 0.7, cell="gru", bidirectional=True, embed_size=4)


def language_model():
    text = "abc def\nghi (jkl) \"mno\"."
    model = LanguageModel([*SPECIALS, *sorted(set(text))], 8, "lstm", "float64", "chars")
    rng = np.random.default_rng(1)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.5, array.shape)
    return model


@pytest.fixture
def client():
    return TestClient(create_app(classifier(), "m.safetensors", HOSTS, Limits(max_body_bytes=2000,
                                                                              max_text_chars=300)))


def test_explain_answers_what_the_library_computes(client):
    answer = client.post("/api/explain", json={"text": "w1 w2 zz w3"})
    assert answer.status_code == 200
    expected = explain_text(classifier(), "w1 w2 zz w3").to_json()
    body = answer.json()
    assert body["label"] == expected["label"] and body["text"] == "w1 w2 zz w3"
    assert body["words"] == expected["words"] and body["hidden"] == expected["hidden"]
    info = client.get("/api/info").json()
    assert info["task"] == "classify" and info["classes"] == ["c0", "c1", "c2"]
    assert info["limits"]["max_text_chars"] == 300 and "tensors" not in info
    page = client.get("/")
    assert page.status_code == 200 and "tinyrnn playground" in page.text
    assert client.get("/static/playground.js").headers["content-type"].startswith("text/javascript")


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("send, status, message", [
    (dict(content=b"{not json", headers=JSON), 400, "not valid JSON"),
    (dict(content=b"\xff\xfe", headers=JSON), 400, "not valid JSON"),
    (dict(content=b'{"text": "w1"}'), 415, "application/json"),
    (dict(content=b'{"text": "w1"}', headers={"Content-Type": "text/plain"}), 415, "application/json"),
    (dict(json=[1, 2]), 422, "must be a JSON object"),
    (dict(content=b'{"text": "w1", "text": "w2"}', headers=JSON), 422, "names 'text' twice"),
    (dict(json={"text": "w1"}, headers={"Host": "127.0.0.1:1"}), 400, "is not served here"),   # another port
    (dict(json={"txt": "w1"}), 422, "names 'txt', which this endpoint does not read (it reads text)"),
    (dict(json={}), 422, "'text' must be a string (it is required)"),
    (dict(json={"text": 5}), 422, "'text' must be a string"),
    (dict(json={"text": "w1 " * 101}), 422, "the limit is 300"),
    (dict(json={"text": "   "}), 422, "no words"),
    (dict(content=b'{"text": "w1 \\ud800"}', headers=JSON), 422, "lone surrogate U+D800"),
    (dict(json={"text": "w1", "pad": "x" * 3000}), 413, "over the limit of 2,000 bytes"),
])
def test_bad_requests_get_a_json_error(client, send, status, message):
    answer = client.post("/api/explain", **send)
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_default_limits_a_number_too_long_to_read_and_too_many_words():
    client = TestClient(create_app(classifier(), "m.safetensors", HOSTS))
    answer = client.post("/api/explain", content=b"[" + b"9" * 5000 + b"]", headers=JSON)
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]
    answer = client.post("/api/explain", json={"text": "w1 " * 201})
    assert answer.status_code == 422 and "201 words; explain reads at most 200" in answer.json()["error"]
    assert client.post("/api/explain", json={"text": "w1 " * 200}).status_code == 200


def test_a_body_without_a_length_is_still_bounded(client):
    def chunks():
        for _ in range(10):
            yield b" " * 500
    answer = client.post("/api/explain", content=chunks(), headers=JSON)
    assert answer.status_code == 413


def test_host_header_check_and_unknown_routes(client):
    for host in ("evil.example:8000", "localhost:1, evil.example", "127.0.0.1:80@evil.example", "", "localhost:x",
                 "localhost:8000"):                            # (the test client's server is on port 80)
        assert client.get("/api/info", headers={"Host": host}).status_code == 400, host
    assert client.get("/api/info", headers={"Host": "localhost:80"}).status_code == 200
    foreign = client.post("/api/explain", json={"text": "w1"}, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and "not answered" in foreign.json()["error"]
    same = client.post("/api/explain", json={"text": "w1"}, headers={"Origin": "http://testserver"})
    assert same.status_code == 200
    elsewhere = TestClient(create_app(classifier(), "m.safetensors", HOSTS), base_url="http://testserver:8000")
    assert elsewhere.get("/api/info", headers={"Host": "localhost:8000"}).status_code == 200
    for host in ("localhost", "localhost:80"):               # no port is port 80: the client reached another server
        assert elsewhere.get("/api/info", headers={"Host": host}).status_code == 400, host
    missing = client.get("/nothing")
    assert missing.status_code == 404 and "error" in missing.json()
    assert client.get("/api/explain").status_code == 405
    assert client.post("/api/generate", json={}).status_code == 404          # a classifier
    assert "no such file" in client.get("/static/__init__.py").json()["error"]


def test_generation_streams_the_tokens_of_the_seeded_sampler():
    model = language_model()
    client = TestClient(create_app(model, "lm.safetensors", HOSTS))
    request = {"prompt": "ab", "temperature": 0.7, "top_k": 5, "length": 40, "seed": 11}
    answer = client.post("/api/generate", json=request)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert lines[-1] == {"done": True, "tokens": 40, "unknown": []}
    said = client.post("/api/generate", json={**request, "prompt": "aZZé"}).text.splitlines()
    assert json.loads(said[-1])["unknown"] == ["Z", "é"]      # read as <unk>, and the answer says so
    expected = generate(model, np.random.default_rng(11), 40, "ab", 0.7, 5)
    assert [line["token"] for line in lines[:-1]] == list(expected)
    for bad in ({"temperature": -1}, {"top_k": 0}, {"length": 0}, {"length": 5000}, {"seed": "x"},
                {"prompt": 3}, {"temperature": True}):
        answer = client.post("/api/generate", json=bad)
        assert answer.status_code == 422, bad
        assert "must be" in answer.json()["error"] or "limit" in answer.json()["error"]
    assert client.post("/api/explain", json={"text": "a"}).status_code == 404


# ---- a real server -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`tinyrnn serve` on a free port in a subprocess, with a classifier; yields (port, model)."""
    folder = tmp_path_factory.mktemp("serve")
    path = str(folder / "m.safetensors")
    save_model(classifier(), path)
    process = subprocess.Popen([sys.executable, "-m", "tinyrnn", "serve", "--model", path, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = process.stdout.readline()
    assert "serving" in line, process.stderr.read()
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    yield port, path
    process.terminate()
    process.wait(timeout=20)


def ask(port, text, timeout=60):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/api/explain", body=json.dumps({"text": text}),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_fifty_concurrent_clients_get_the_answers_they_would_get_alone(served):
    port, _ = served
    rng = np.random.default_rng(5)
    texts = [" ".join(f"w{i}" for i in rng.integers(0, 7, size=rng.integers(1, 12))) for _ in range(50)]
    alone = {text: ask(port, text) for text in set(texts)}
    results, start = [None] * len(texts), threading.Barrier(len(texts))

    def client(i):
        start.wait()
        results[i] = ask(port, texts[i])
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(texts))]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert time.monotonic() - began < 120 and not any(thread.is_alive() for thread in threads)
    for text, (status, body) in zip(texts, results):
        assert status == 200
        assert body == alone[text][1]                          # byte for byte, as when asked alone
    assert ask(port, "w1 w2")[0] == 200                        # still answering


def _serving(tmp_path):
    """(process, port) of `tinyrnn serve` on a free port in a subprocess, with a classifier."""
    path = str(tmp_path / "m.safetensors")
    save_model(classifier(), path)
    process = subprocess.Popen([sys.executable, "-m", "tinyrnn", "serve", "--model", path, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return process, int(process.stdout.readline().split("http://127.0.0.1:")[1].split("/")[0])


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stop_the_server_quietly(tmp_path, signal_number):
    process, port = _serving(tmp_path)
    assert ask(port, "w1")[0] == 200
    process.send_signal(signal_number)
    assert process.wait(timeout=30) == 0
    assert process.stderr.read().strip() == "tinyrnn serve: stopped"


def test_serve_refuses_a_bad_model_or_a_taken_port(served, tmp_path):
    port, path = served
    for argv, message in ((["--model", str(tmp_path / "none")], "no such model file"),
                          (["--model", path, "--port", str(port)], f"cannot listen on 127.0.0.1:{port}"),
                          (["--model", path, "--port", "70000"], "must be <= 65,535"),
                          (["--model", path, "--allow-host", "example.org:80"], "without a port")):
        result = subprocess.run([sys.executable, "-m", "tinyrnn", "serve", *argv], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1


def test_a_garbled_chunked_body_is_answered_by_the_http_server_without_a_traceback(tmp_path):
    import socket
    process, port = _serving(tmp_path)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(f"POST /api/explain HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json"
                           f"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n".encode())
        assert connection.recv(100).startswith(b"HTTP/1.1 400")
    assert ask(port, "w1")[0] == 200                            # still answering
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    log = process.stderr.read()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log
