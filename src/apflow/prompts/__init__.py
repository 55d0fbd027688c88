"""Prompt templates (``*.j2``) and few-shot examples (``examples/*.json``), shipped as data.

Rendered by :mod:`apflow.generator.prompting`; nothing here is Python logic.
"""
