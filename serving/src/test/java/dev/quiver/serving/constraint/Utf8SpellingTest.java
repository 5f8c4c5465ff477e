package dev.quiver.serving.constraint;

import static dev.quiver.serving.constraint.IndependentValidator.json;
import static org.assertj.core.api.Assertions.assertThat;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class Utf8SpellingTest {
    @Test
    void spellsTheSameBytesAsAMinimisedChainOfUtf8Sequences() {
        List<Automaton> battery = List.of(
                SchemaCompiler.compile(json("{\"type\": \"object\", \"properties\": {\"team\": {\"enum\": [\"é\","
                        + " \"日本\", \"b\"]}, \"s\": {\"type\": \"string\", \"maxLength\": 3}, \"n\": {\"type\":"
                        + " \"number\"}}, \"required\": [\"team\"]}"), "schema"),
                SchemaCompiler.compile(json("{\"type\": \"string\", \"pattern\": \"^[^a-z]{1,3}\\\\W$\"}"), "schema"),
                SchemaCompiler.compile(json("{\"type\": \"string\", \"format\": \"email\"}"), "schema"),
                JsonText.anyObject(),
                // a class range across the surrogates: only its other characters can be spelled
                RegexParser.parse("x[\u00e9-\uffef]{2}|[\ud7ff-\ue000]", "guided_regex", "guided_regex"));
        for (Automaton chars : battery) {
            chars.minimize();
            ByteDfa dfa = ByteDfa.of(chars);
            Automaton reference = chainedAndMinimised(chars);
            assertThat(asAutomaton(dfa).equals(reference)).isTrue();
            assertThat(dfa.states()).isEqualTo(reference.getNumberOfStates());
        }
    }

    /** The former construction: a fresh chain of states per UTF-8 sequence, then determinise and minimise. */
    private static Automaton chainedAndMinimised(Automaton chars) {
        Map<State, State> copies = new IdentityHashMap<>();
        Deque<State> work = new ArrayDeque<>();
        copies.put(chars.getInitialState(), new State());
        work.add(chars.getInitialState());
        while (!work.isEmpty()) {
            State s = work.poll();
            State from = copies.get(s);
            from.setAccept(s.isAccept());
            for (Transition t : s.getTransitions()) {
                if (!copies.containsKey(t.getDest())) {
                    copies.put(t.getDest(), new State());
                    work.add(t.getDest());
                }
                State dest = copies.get(t.getDest());
                for (int[] part : new int[][] {{t.getMin(), Math.min(t.getMax(), Chars.SURROGATE_MIN - 1)},
                        {Math.max(t.getMin(), Chars.SURROGATE_MAX + 1), t.getMax()}}) {
                    if (part[0] <= part[1]) {
                        Utf8Ranges.each(part[0], part[1], seq -> {
                            State at = from;
                            for (int i = 0; i < seq.length; i++) {
                                State to = i == seq.length - 1 ? dest : new State();
                                at.addTransition(new Transition((char) seq[i][0], (char) seq[i][1], to));
                                at = to;
                            }
                        });
                    }
                }
            }
        }
        Automaton bytes = new Automaton();
        bytes.setInitialState(copies.get(chars.getInitialState()));
        bytes.setDeterministic(false);
        bytes.minimize();
        return bytes;
    }

    /** The table as a brics automaton over the characters U+0000 to U+00FF, one per byte. */
    private static Automaton asAutomaton(ByteDfa dfa) {
        State[] states = new State[dfa.states()];
        for (int s = 0; s < states.length; s++) {
            states[s] = new State();
            states[s].setAccept(dfa.accepting(s));
        }
        for (int s = 0; s < states.length; s++) {
            for (int b = 0; b < 256; b++) {
                if (dfa.next(s, b) != ByteDfa.DEAD) {
                    states[s].addTransition(new Transition((char) b, states[dfa.next(s, b)]));
                }
            }
        }
        Automaton a = new Automaton();
        a.setInitialState(states[dfa.start()]);
        return a;
    }
}
