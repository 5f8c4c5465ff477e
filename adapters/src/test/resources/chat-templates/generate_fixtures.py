#!/usr/bin/env python3
"""Writes expected.json: every template in templates/ rendered over every conversation in conversations.json.

Rendering follows transformers' render_jinja_template (transformers/utils/chat_template_utils.py):
an ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loopcontrols; raise_exception,
strftime_now and a tojson filter calling json.dumps(ensure_ascii=False); messages, tools, documents,
add_generation_prompt, the special tokens and chat_template_kwargs as variables; continue_final_message
cutting the text after the last message's content. strftime_now reads a fixed clock (FIXED_NOW) so the
fixtures are reproducible; the Java test fixes the same instant.

Run from this directory with Python 3 and Jinja2 (3.1.6 was used):  python3 generate_fixtures.py
"""
import json
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_NOW = datetime(2025, 3, 14, 9, 26, 53)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class Generation(Extension):
    """transformers' AssistantTracker without mask tracking: {% generation %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
    return env


def render(template, tokens, case):
    kwargs = {**tokens, **case.get("chat_template_kwargs", {})}
    text = template.render(
        messages=case["messages"],
        tools=case.get("tools"),
        documents=case.get("documents"),
        add_generation_prompt=case.get("add_generation_prompt", False),
        **kwargs,
    )
    if case.get("continue_final_message"):
        final = case["messages"][-1]["content"]
        try:
            text = text[: text.rindex(final) + len(final)]
        except ValueError:
            text = text[: text.rindex(final.strip()) + len(final.strip())]
    return text


def main():
    manifest = json.load(open("templates.json", encoding="utf-8"))
    cases = json.load(open("conversations.json", encoding="utf-8"))
    env = environment()
    expected = {}
    for name, entry in manifest.items():
        template = env.from_string(open(f"templates/{name}.jinja", encoding="utf-8").read())
        expected[name] = {}
        for case_name, case in cases.items():
            try:
                expected[name][case_name] = {"text": render(template, entry["tokens"], case)}
            except jinja2.exceptions.TemplateError as e:
                expected[name][case_name] = {"error": str(e)}
    with open("expected.json", "w", encoding="utf-8") as out:
        json.dump(expected, out, ensure_ascii=False, indent=1, sort_keys=True)
        out.write("\n")


if __name__ == "__main__":
    main()
