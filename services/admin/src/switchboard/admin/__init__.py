"""The operations service: an admin API (FastAPI, OpenAPI at `/openapi.json`) and the web console it serves.

Operators list and search activation records, open one with its journal and timeline, replay one or many
(recorded or live), inspect, replay and purge dead letters, read and change the configuration of guilds and
channels, and watch queue depths, lanes and a live feed of activations. Every `/api` route needs a bearer
token with the `operator` role (`auth`); `/healthz`, `/readyz` and the console's static page do not.
"""
