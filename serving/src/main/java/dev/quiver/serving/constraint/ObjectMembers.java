package dev.quiver.serving.constraint;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.StatePair;
import java.util.ArrayList;
import java.util.List;

/**
 * An object's members in declared order, comma-separated, each at most once and the required ones always, as
 * one automaton around shared junction states: {@code J(i, w)} is "before member i, {@code w} members already
 * written", and {@code L(J(i, w)) = [","]ᵂ·mᵢ·L(J(i+1, 1)) ∪ (mᵢ optional ? L(J(i+1, w)) : ∅)}, {@code L(J(n, w)) = ε}.
 * Written as nested unions of suffixes instead, every member is copied once per earlier member and each suffix
 * must be minimised to stay small, which is quadratic in the number of members.
 */
final class ObjectMembers {
    private ObjectMembers() {
    }

    /** The member sequences, {@code members.get(i)} being {@code "name":value}; unminimised (one pass does it later). */
    static Automaton of(List<Automaton> members, List<Boolean> required) {
        int n = members.size();
        State[][] junction = new State[n + 1][2];
        for (State[] j : junction) {
            j[0] = new State();
            j[1] = new State();
        }
        junction[n][0].setAccept(true);
        junction[n][1].setAccept(true);
        List<StatePair> epsilons = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (int written = 0; written < 2; written++) {
                Automaton take = written == 1 ? JsonText.literal(",").concatenate(members.get(i))
                        : members.get(i).clone();
                epsilons.add(new StatePair(junction[i][written], take.getInitialState()));
                for (State end : take.getAcceptStates()) {
                    end.setAccept(false);
                    epsilons.add(new StatePair(end, junction[i + 1][1]));
                }
                if (!required.get(i)) {
                    epsilons.add(new StatePair(junction[i][written], junction[i + 1][written]));
                }
            }
        }
        Automaton a = new Automaton();
        a.setInitialState(junction[0][0]);
        a.addEpsilons(epsilons);
        return a;
    }
}
