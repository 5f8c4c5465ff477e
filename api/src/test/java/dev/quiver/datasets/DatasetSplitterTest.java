package dev.quiver.datasets;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class DatasetSplitterTest {

    private static DatasetSplitter.Example example(String input, String answer) {
        return new DatasetSplitter.Example(input, "{\"input\": \"" + input + "\"}", answer);
    }

    @Test
    void removesExactAndNearDuplicates() {
        DatasetSplitter.Split split = DatasetSplitter.split(List.of(example("my invoice is wrong", "billing"),
                example("my invoice is wrong", "billing"), example("My invoice, is WRONG!", "billing"),
                example("where is my parcel", "shipping")), 0.5, 0);

        assertThat(split.exactDuplicates()).isEqualTo(1);
        assertThat(split.nearDuplicates()).isEqualTo(1);
        assertThat(split.training().size() + split.heldout().size()).isEqualTo(2);
    }

    @Test
    void keepsVariantsThatDifferOnlyInANumberOnOneSide() {
        List<DatasetSplitter.Example> examples = new ArrayList<>();
        for (int order = 0; order < 10; order++) {
            for (String ticket : List.of("order %d is late", "refund order %d", "order %d arrived broken",
                    "cancel order %d", "track order %d")) {
                examples.add(example(String.format(ticket, order), "shipping"));
            }
        }
        DatasetSplitter.Split split = DatasetSplitter.split(examples, 0.2, 1);

        assertThat(split.groups()).isEqualTo(5);
        assertThat(split.heldout()).hasSize(10);
        Set<String> held = split.heldout().stream().map(e -> e.input().replaceAll("[0-9]+", "0"))
                .collect(Collectors.toSet());
        assertThat(split.training()).noneMatch(e -> held.contains(e.input().replaceAll("[0-9]+", "0")));
    }

    @Test
    void splitsTheSameWayForTheSameSeed() {
        List<DatasetSplitter.Example> examples = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            examples.add(example("ticket " + (char) ('a' + i % 26) + (char) ('a' + i / 26), "bug"));
        }
        assertThat(DatasetSplitter.split(examples, 0.25, 9).heldout())
                .isEqualTo(DatasetSplitter.split(examples, 0.25, 9).heldout())
                .isNotEqualTo(DatasetSplitter.split(examples, 0.25, 10).heldout());
        assertThat(DatasetSplitter.split(examples, 0.25, 9).heldout()).hasSize(10);
    }
}
