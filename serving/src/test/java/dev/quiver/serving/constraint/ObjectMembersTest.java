package dev.quiver.serving.constraint;

import static org.assertj.core.api.Assertions.assertThat;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.BasicAutomata;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ObjectMembersTest {
    @Test
    void admitsExactlyTheSuffixUnionsOfTheDeclaredOrder() {
        Random random = new Random(11);
        for (int round = 0; round < 40; round++) {
            int n = 1 + random.nextInt(6);
            List<Automaton> members = new ArrayList<>();
            List<Boolean> required = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                // values that may go on after an accepting state (digits), so a member's end is not its last state
                members.add(JsonText.literal("\"k" + i + "\":").concatenate(random.nextBoolean() ? JsonText.integer()
                        : JsonText.string(0, 2)));
                required.add(random.nextBoolean());
            }
            Automaton built = ObjectMembers.of(members, required);
            assertThat(built.equals(suffixUnions(members, required))).as("%d members, required %s", n, required)
                    .isTrue();
        }
    }

    @Test
    void leavesItsMembersAsTheyWere() {
        Automaton member = JsonText.minimal(JsonText.literal("\"a\":").concatenate(JsonText.integer()));
        int states = member.getNumberOfStates();
        ObjectMembers.of(List.of(member, member), List.of(true, false));
        assertThat(member.run("\"a\":12")).isTrue();
        assertThat(member.getNumberOfStates()).isEqualTo(states);
    }

    /** The former construction, kept as the specification: after(i, w) = [","]ᵂ·mᵢ·after(i+1, 1) ∪ after(i+1, w). */
    private static Automaton suffixUnions(List<Automaton> members, List<Boolean> required) {
        int n = members.size();
        Automaton[][] after = new Automaton[n + 1][2];
        after[n][0] = BasicAutomata.makeEmptyString();
        after[n][1] = BasicAutomata.makeEmptyString();
        for (int i = n - 1; i >= 0; i--) {
            for (int written = 0; written < 2; written++) {
                Automaton take = (written == 1 ? JsonText.literal(",").concatenate(members.get(i)) : members.get(i))
                        .concatenate(after[i + 1][1]);
                after[i][written] = JsonText.minimal(required.get(i) ? take : take.union(after[i + 1][written]));
            }
        }
        return after[0][0];
    }
}
