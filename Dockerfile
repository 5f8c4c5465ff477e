# One image, every role: `server` (all-in-one, the default), `control-plane`, `serve`, `train`.
#
#   mvn -B -q package -DskipTests        # builds api/target/quiver.jar
#   docker build -t quiver:0.1.0 .
#   docker run -p 8080:8080 -v quiver-data:/var/lib/quiver quiver:0.1.0
#
# CUDA variant (GPU training and serving): same jar layout, two changes.
#   1. Base image: a CUDA runtime with a Java 17 JRE, e.g. FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04
#      plus `apt-get install -y --no-install-recommends openjdk-17-jre-headless`.
#   2. Build the jar with the GPU natives in place of the CPU ones: DJL's CUDA flavour of PyTorch 2.7.1
#      (ai.djl.pytorch:pytorch-native-cu12x, classifier linux-x86_64, the cu version DJL publishes for 2.7.1,
#      instead of pytorch-native-cpu; with -Dai.djl.offline=true it must be in the jar) and
#      com.microsoft.onnxruntime:onnxruntime_gpu instead of onnxruntime (same version): `mvn -Pgpu package`.
#   Then the chart's jobs.runner.gpu and serving.gpu settings request the GPUs, and serving.executionProvider=cuda
#   (QUIVER_SERVING_EXECUTION_PROVIDER) runs the engine on ONNX Runtime's CUDA provider.
FROM eclipse-temurin:17-jre-jammy

ARG UID=10001
RUN groupadd --system --gid ${UID} quiver \
    && useradd --system --uid ${UID} --gid quiver --home-dir /home/quiver --create-home quiver \
    && mkdir -p /app /var/lib/quiver \
    && chown quiver:quiver /var/lib/quiver

# owned by root, readable by all: the process cannot change its own code
COPY api/target/quiver.jar /app/quiver.jar

# numeric, so that Kubernetes' runAsNonRoot can verify it
USER ${UID}:${UID}
WORKDIR /home/quiver
ENV HOME=/home/quiver
# the tunable JVM options (the chart's controlPlane.javaOpts and serving.javaOpts replace them)
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75"
EXPOSE 8080
VOLUME ["/var/lib/quiver"]

# An OutOfMemoryError ends the process, so that Kubernetes and the control plane see the failure; DJL
# must never try to download natives.
ENTRYPOINT ["java", "-XX:+ExitOnOutOfMemoryError", "-Dai.djl.offline=true", "-jar", "/app/quiver.jar"]
CMD ["server", "--host", "0.0.0.0", "--data-dir", "/var/lib/quiver"]
