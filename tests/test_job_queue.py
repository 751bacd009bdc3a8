"""The fake job queue (``tests/job_queue.py``) loses no job to a job-take whose client has gone.

The queue is the test double of RunPod's job queue that the production-loop tests drive the real SDK
against; a job handed to a client that had timed out would vanish, and the test waiting for its result
would fail for a reason that is not the worker's. Clients here are raw sockets, closed as a client that
gives up on a long-poll closes its connection.
"""

from __future__ import annotations

import socket
import struct

import requests

from tests import job_queue
from tests.job_queue import ENDPOINT_ID, POD_ID, JobQueue

TAKE = f"/v2/{ENDPOINT_ID}/job-take/{POD_ID}?gpu=test&job_in_progress=0"


def held_take(queue: JobQueue) -> socket.socket:
    """A job-take request the queue is holding open (a long-poll with nothing pending yet)."""
    before = queue.takes()
    client = socket.create_connection(("127.0.0.1", queue.port), timeout=10)
    client.sendall(f"GET {TAKE} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    queue.wait_for(lambda s: s.waiting_takes == 1, 10, "a held job-take")
    assert queue.takes() == before
    return client


def take(queue: JobQueue) -> requests.Response:
    return requests.get(queue.base_url + TAKE, timeout=30)


def test_a_job_goes_to_a_connected_take_not_to_one_whose_client_has_gone():
    with JobQueue(poll_hold_s=5) as queue:
        gone = held_take(queue)
        gone.close()  # the client gave up waiting (its timeout), or its process died
        job_id = queue.enqueue({"endpoint": "health"})
        queue.wait_for(lambda s: len(s.takes) == 1, 10, "the abandoned take's end")
        answer = take(queue)
        assert answer.status_code == 200 and answer.json()["id"] == job_id
        assert [(t.client_gone, t.job_ids) for t in queue.takes()] == [(True, ()), (False, (job_id,))]
        assert queue.requeued_ids() == [] and queue.protocol_errors() == []


def test_jobs_whose_answer_cannot_be_written_go_back_to_the_front_in_order(monkeypatch):
    """A client that leaves between the check and the answer: that moment cannot be hit from outside, so the
    check is blinded here (the one stand-in), and the client resets its connection, so the write fails."""
    monkeypatch.setattr(job_queue, "peer_closed", lambda connection: False)
    with JobQueue(poll_hold_s=5) as queue:
        gone = held_take(queue)
        gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        gone.close()  # with SO_LINGER 0: a reset, so the server's write fails at once
        first, second = queue.enqueue_many([(None, {"endpoint": "health"}), (None, {"endpoint": "voices"})])
        queue.wait_for(lambda s: s.requeued, 10, "the job put back")
        assert queue.requeued_ids() == [first] and queue.takes()[0].job_ids == (first,)
        assert [take(queue).json()["id"] for _ in range(2)] == [first, second]
        assert queue.protocol_errors() == []
