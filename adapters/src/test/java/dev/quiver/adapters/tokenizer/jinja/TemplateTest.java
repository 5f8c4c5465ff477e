package dev.quiver.adapters.tokenizer.jinja;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The engine against Python: every expected string was printed by Jinja2 3.1.6 in transformers' environment
 * (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson with ensure_ascii=False).
 */
class TemplateTest {

    private static String render(String source, Map<String, ?> vars) {
        return Template.parse(source).render(vars);
    }

    @Test
    void loopBodiesGetAFreshScopeEachIteration() {
        assertThat(render("{% set x = 0 %}{% for i in [1,2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}", Map.of()))
                .isEqualTo("120");
    }

    @Test
    void printsValuesAsPythonStrAndDoesPythonArithmetic() {
        assertThat(render("{{ [1,'a',none,True,1.5,{'k':\"it's\"}] }}|{{ 7/2 }}|{{ -7//2 }}|{{ -7 % 3 }}|{{ 2**10 }}",
                Map.of())).isEqualTo("[1, 'a', None, True, 1.5, {'k': \"it's\"}]|3.5|-4|2|1024");
    }

    @Test
    void appliesTrimBlocksLstripBlocksAndDashes() {
        assertThat(render("  {% if true %}\n  x\n  {% endif %}\n  {#- c -#}  y {{- ' z ' -}}  !", Map.of()))
                .isEqualTo("  x\ny z !");
    }

    @Test
    void filtersLoopsAndBreaks() {
        assertThat(render("{% for a in [1,2,3,4] if a > 1 %}{% if a == 4 %}{% break %}{% endif %}"
                + "{{ loop.index }}{{ loop.last }},{% endfor %}", Map.of())).isEqualTo("1False,2False,");
    }

    @Test
    void pythonStringMethodsAndSlices() {
        assertThat(render("{{ 'a,b,,c'.split(',') }}{{ '  x y  '.split() }}{{ 'abc'[::-1] }}{{ [1,2,3,4][1:3] }}"
                + "{{ 'xxhixx'.strip('x') }}", Map.of())).isEqualTo("['a', 'b', '', 'c']['x', 'y']cba[2, 3]hi");
    }

    @Test
    void selectMapJoinAndAttributeFilters() {
        List<Map<String, Object>> msgs = List.of(Map.of("role", "user", "content", "a"),
                Map.of("role", "bot", "content", "b"), Map.of("role", "user", "content", "c"));
        assertThat(render("{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join('+') }}"
                + "|{{ msgs | length }}|{{ (msgs | last).role | upper }}", Map.of("msgs", msgs))).isEqualTo("a+c|3|USER");
    }

    @Test
    void macrosTakeDefaultsAndKeywords() {
        assertThat(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
                + "{{ greet('Ann') }} {{ greet('Bo', punct='?') }}", Map.of())).isEqualTo("Hi Ann! Hi Bo?");
    }

    @Test
    void testsAndMembership() {
        assertThat(render("{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}{{ 3 is odd }}"
                + "{{ x | default('d') }}{{ 'b' in 'abc' }}{{ 1 not in [2] }}", Map.of()))
                .isEqualTo("FalseTrueTrueTrueTruedTrueTrue");
    }

    @Test
    void tojsonKeepsKeyOrderAndNonAsciiAndInlineIfWithoutElseIsEmpty() {
        assertThat(render("{{ {'b': 1, 'a': [True, none]} | tojson }}|{{ 'é' | tojson }}|{{ 1 if false }}"
                + "|{{ 'y' if 0 else 'n' }}", Map.of())).isEqualTo("{\"b\": 1, \"a\": [true, null]}|\"é\"||n");
    }

    @Test
    void mutatingMethodsAreRefusedAsInTheSandbox() {
        assertThatThrownBy(() -> render("{% set l = [] %}\n{{ l.append(1) }}", Map.of()))
                .isInstanceOf(TemplateException.class)
                .hasMessageStartingWith("line 2: access to attribute 'append' of 'list' object is unsafe");
    }

    @Test
    void unknownFiltersAndTestsFailAtParseTimeNamingTheLine() {
        assertThatThrownBy(() -> Template.parse("\n\n{{ x | frobnicate }}"))
                .isInstanceOf(TemplateException.class).hasMessage("line 3: no filter named 'frobnicate'");
        assertThatThrownBy(() -> Template.parse("{{ x is shiny }}"))
                .isInstanceOf(TemplateException.class).hasMessage("line 1: no test named 'shiny'");
    }
}
