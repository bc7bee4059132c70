"""The admin API's routers, one per subject; every one is mounted under `/api` behind the operator check."""
