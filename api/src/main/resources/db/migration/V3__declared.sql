-- What the control plane made of each declared adapter (the Helm chart's quiver-declared.yaml), so that
-- unchanged declarations cost nothing and every serving replica pins the same registry version.
CREATE TABLE declared_adapters (
    id             VARCHAR(400)   PRIMARY KEY,
    project_id     VARCHAR(64)    NOT NULL REFERENCES projects (id),
    name           VARCHAR(300)   NOT NULL,
    source         VARCHAR(2000)  NOT NULL,
    source_digest  VARCHAR(64),
    adapter_id     VARCHAR(64),
    adapter_ref    VARCHAR(320),
    pinned         BOOLEAN        NOT NULL,
    retired        BOOLEAN        NOT NULL,
    error          VARCHAR(4000),
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT declared_adapters_name UNIQUE (project_id, name)
);
