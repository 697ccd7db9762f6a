"""Benchmarks: `make bench` (or `python -m bench [--smoke] [scenario ...]`).

Each scenario prints its figures and writes bench/results/<scenario>.json. Database round
trips are counted with pymongo's command monitoring: that figure carries over to a real
MongoDB, where the embedded database's speed does not.
"""
