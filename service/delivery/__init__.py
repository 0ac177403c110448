"""Durable delivery of triggered pushes: the outbox (written with the triggering event), the policy that
reads each answer, the worker that sends, and the operations on the log (replay, recover, enable)."""
