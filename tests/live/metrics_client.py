"""Reading a server's /metrics in the tests: with prometheus_client's own parser."""

import time

import requests
from prometheus_client.parser import text_string_to_metric_families


def scrape(url, **kwargs):
    """{(sample name, frozenset of labels): value} of every sample /metrics serves."""
    response = requests.get(f"{url}/metrics", timeout=30, **kwargs)
    assert response.status_code == 200, response.text[:300]
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def value(samples, name, **labels):
    """The value of one sample (0 if it is not there yet), labels as keyword arguments."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name, **labels):
    """The sum over the samples of name whose labels include these."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and set(labels.items()) <= set(ls))


def scrape_until(url, condition, timeout=60, **kwargs):
    """Scrapes until condition(samples) holds (the exporter reads the access log every half
    second), and returns the samples; the last ones if it never does (the caller's assertions
    then say what is missing)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(url, **kwargs)
        if condition(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.3)
