// Package jinja is a small interpreter for the part of Jinja that Hugging Face chat templates
// use, following Python jinja2 as transformers configures it (ImmutableSandboxedEnvironment
// with trim_blocks and lstrip_blocks, the loopcontrols extension, transformers' own tojson,
// raise_exception and strftime_now).
//
// It exists because the Go Jinja engines do not keep the key order of JSON objects, which
// `tool | tojson` must reproduce, and differ from jinja2 in details that change the rendered
// prompt. Values are Python-like (None, bool, int64, float64, str, list, insertion-ordered
// *Dict, namespace) and operators, methods, filters and tests follow Python and jinja2;
// testdata/ holds renderings by jinja2 itself that the tests compare against.
//
// Supported: {{ }}, {% if/elif/else %}, {% for %} (unpacking, `if` filter, else, loop.*,
// break/continue), {% set %} (names, tuples, ns.attr, block form), {% macro %}, {% filter %},
// {% raw %}, {% generation %}, whitespace control (-, +, trim_blocks, lstrip_blocks);
// literals, slicing, the arithmetic/comparison/logic operators, `~`, `in`, `is` tests,
// conditional expressions; str/dict/list methods templates call (strip, split, startswith,
// replace, items, get, ...); the common filters (length, trim, tojson, items, default, join,
// map, select, sort, unique, ...). Not supported: tuples as a type (they are lists, so they
// print as [a, b]), str.format, recursive loops, call blocks, include/import/extends.
//
// A Template renders concurrently. Every render is bounded by Limits (steps, macro depth,
// output size, and the bytes of strings and lists it handles in all), so no template text can
// hang the program or exhaust memory; template errors
// are *Error values with a position, and raise_exception gives a *RaisedError.
package jinja
