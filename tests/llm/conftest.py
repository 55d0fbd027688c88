"""Fixtures for model-client tests."""

from tests.fake_openai import fake_openai  # noqa: F401  (fixture)
