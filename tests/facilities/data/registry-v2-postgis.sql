--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: postgis; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: facilities; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.facilities (
    fid bigint NOT NULL,
    geom public.geometry(Geometry,4326) NOT NULL,
    id text NOT NULL,
    name text NOT NULL,
    aliases text DEFAULT '[]'::text NOT NULL,
    country text,
    category text DEFAULT ''::text NOT NULL,
    status text NOT NULL,
    location_precision text NOT NULL,
    parents text DEFAULT '[]'::text NOT NULL,
    systems text DEFAULT '[]'::text NOT NULL,
    notes text DEFAULT ''::text NOT NULL,
    source_ids text DEFAULT '[]'::text NOT NULL,
    extra text DEFAULT '{}'::text NOT NULL,
    area_m2 double precision,
    version integer DEFAULT 1 NOT NULL,
    created_at text,
    updated_at text
);


--
-- Name: facilities_fid_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.facilities_fid_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: facilities_fid_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.facilities_fid_seq OWNED BY public.facilities.fid;


--
-- Name: history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.history (
    fid bigint NOT NULL,
    at text NOT NULL,
    actor text NOT NULL,
    entity text NOT NULL,
    entity_id text NOT NULL,
    action text NOT NULL,
    before json,
    after json
);


--
-- Name: history_fid_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.history_fid_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: history_fid_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.history_fid_seq OWNED BY public.history.fid;


--
-- Name: observations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.observations (
    fid bigint NOT NULL,
    geom public.geometry(Geometry,4326),
    id text NOT NULL,
    facility_id text NOT NULL,
    structure_id text,
    date text NOT NULL,
    date_precision text NOT NULL,
    date_start date NOT NULL,
    date_end date NOT NULL,
    kind text NOT NULL,
    summary text NOT NULL,
    image_provider text,
    image_id text,
    image_acquired text,
    confidence text NOT NULL,
    analyst text DEFAULT ''::text NOT NULL,
    source_ids text DEFAULT '[]'::text NOT NULL,
    notes text DEFAULT ''::text NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_at text,
    updated_at text
);


--
-- Name: observations_fid_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.observations_fid_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: observations_fid_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.observations_fid_seq OWNED BY public.observations.fid;


--
-- Name: sources; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sources (
    fid bigint NOT NULL,
    id text NOT NULL,
    title text NOT NULL,
    publisher text DEFAULT ''::text NOT NULL,
    url text,
    published text,
    language text,
    excerpt text DEFAULT ''::text NOT NULL,
    retrieved_at text,
    notes text DEFAULT ''::text NOT NULL,
    version integer DEFAULT 1 NOT NULL
);


--
-- Name: sources_fid_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.sources_fid_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: sources_fid_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.sources_fid_seq OWNED BY public.sources.fid;


--
-- Name: structures; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.structures (
    fid bigint NOT NULL,
    geom public.geometry(Geometry,4326) NOT NULL,
    id text NOT NULL,
    facility_id text NOT NULL,
    name text NOT NULL,
    kind text DEFAULT ''::text NOT NULL,
    location_precision text NOT NULL,
    status text NOT NULL,
    built text,
    removed text,
    notes text DEFAULT ''::text NOT NULL,
    source_ids text DEFAULT '[]'::text NOT NULL,
    footprint_m2 double precision,
    version integer DEFAULT 1 NOT NULL,
    created_at text,
    updated_at text
);


--
-- Name: structures_fid_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.structures_fid_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: structures_fid_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.structures_fid_seq OWNED BY public.structures.fid;


--
-- Name: tracker_meta; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tracker_meta (
    key text NOT NULL,
    value text
);


--
-- Name: facilities fid; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.facilities ALTER COLUMN fid SET DEFAULT nextval('public.facilities_fid_seq'::regclass);


--
-- Name: history fid; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.history ALTER COLUMN fid SET DEFAULT nextval('public.history_fid_seq'::regclass);


--
-- Name: observations fid; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.observations ALTER COLUMN fid SET DEFAULT nextval('public.observations_fid_seq'::regclass);


--
-- Name: sources fid; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sources ALTER COLUMN fid SET DEFAULT nextval('public.sources_fid_seq'::regclass);


--
-- Name: structures fid; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.structures ALTER COLUMN fid SET DEFAULT nextval('public.structures_fid_seq'::regclass);


--
-- Data for Name: facilities; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.facilities VALUES (2, '0106000020E6100000020000000103000000010000000500000085EB51B81E052440000000000000244085EB51B81E05244085EB51B81E052440000000000000244085EB51B81E0524400000000000002440000000000000244085EB51B81E0524400000000000002440010300000001000000050000008FC2F5285C0F244000000000000024408FC2F5285C0F244085EB51B81E0524400AD7A3703D0A244085EB51B81E0524400AD7A3703D0A244000000000000024408FC2F5285C0F24400000000000002440', 'site-2', 'Site two', '[]', NULL, '', 'unknown', 'approximate', '[{"name":"Site one","facility_id":"site-1","source_ids":["src-2"]}]', '[]', '', '[]', '{}', 2425356.6421078662, 1, '2026-12-01T14:55:08.820Z', '2026-12-01T14:55:08.820Z');
INSERT INTO public.facilities VALUES (1, '0106000020E610000001000000010300000001000000050000000AD7A3703DEA5F40F6285C8FC2F543400AD7A3703DEA5F40D7A3703D0AF743409A99999999E95F40D7A3703D0AF743409A99999999E95F40F6285C8FC2F543400AD7A3703DEA5F40F6285C8FC2F54340', 'site-1', 'Site one', '[{"name":"구성","lang":"ko"}]', 'KP', 'missile', 'active', 'digitised', '[]', '["KN-23"]', 'edited', '["src-1"]', '{"x":[1,2]}', 949191.7621449083, 2, '2026-12-01T14:55:08.815Z', '2026-12-01T14:55:08.837Z');


--
-- Data for Name: history; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.history VALUES (1, '2026-12-01T14:55:08.812Z', 'ana', 'source', 'src-1', 'create', NULL, '{"id": "src-1", "title": "Rapport – Kusŏng", "publisher": "38 North", "url": "https://example.org/r", "published": "2024-11", "language": "ko", "excerpt": "«new roof»", "retrieved_at": null, "notes": "", "version": 1}');
INSERT INTO public.history VALUES (2, '2026-12-01T14:55:08.814Z', 'ana', 'source', 'src-2', 'create', NULL, '{"id": "src-2", "title": "Second", "publisher": "", "url": "https://example.org/2", "published": null, "language": null, "excerpt": "", "retrieved_at": null, "notes": "", "version": 1}');
INSERT INTO public.history VALUES (3, '2026-12-01T14:55:08.819Z', 'ana', 'facility', 'site-1', 'create', NULL, '{"feature_type": "facility", "id": "site-1", "name": "Site one", "aliases": [{"name": "구성", "lang": "ko"}], "country": "KP", "category": "missile", "status": "active", "location_precision": "digitised", "parents": [], "systems": ["KN-23"], "notes": "n", "source_ids": ["src-1"], "extra": {"x": [1, 2]}, "area_m2": 949191.8, "version": 1, "created_at": "2026-12-01T14:55:08.815Z", "updated_at": "2026-12-01T14:55:08.815Z", "geometry": {"type": "Polygon", "coordinates": [[[127.66, 39.92], [127.66, 39.93], [127.65, 39.93], [127.65, 39.92], [127.66, 39.92]]]}}');
INSERT INTO public.history VALUES (4, '2026-12-01T14:55:08.822Z', 'bo', 'facility', 'site-2', 'create', NULL, '{"feature_type": "facility", "id": "site-2", "name": "Site two", "aliases": [], "country": null, "category": "", "status": "unknown", "location_precision": "approximate", "parents": [{"name": "Site one", "facility_id": "site-1", "source_ids": ["src-2"]}], "systems": [], "notes": "", "source_ids": [], "extra": {}, "area_m2": 2425356.6, "version": 1, "created_at": "2026-12-01T14:55:08.820Z", "updated_at": "2026-12-01T14:55:08.820Z", "geometry": {"type": "MultiPolygon", "coordinates": [[[[10.01, 10.0], [10.01, 10.01], [10.0, 10.01], [10.0, 10.0], [10.01, 10.0]]], [[[10.03, 10.0], [10.03, 10.01], [10.02, 10.01], [10.02, 10.0], [10.03, 10.0]]]]}}');
INSERT INTO public.history VALUES (5, '2026-12-01T14:55:08.826Z', 'ana', 'structure', 'site-1.a', 'create', NULL, '{"feature_type": "structure", "id": "site-1.a", "facility_id": "site-1", "name": "A", "kind": "building", "location_precision": "approximate", "status": "unknown", "built": "2019", "removed": "2021-06", "notes": "", "source_ids": ["src-1"], "footprint_m2": 9492.3, "version": 1, "created_at": "2026-12-01T14:55:08.823Z", "updated_at": "2026-12-01T14:55:08.823Z", "geometry": {"type": "Polygon", "coordinates": [[[127.653, 39.922], [127.653, 39.923], [127.652, 39.923], [127.652, 39.922], [127.653, 39.922]]]}}');
INSERT INTO public.history VALUES (6, '2026-12-01T14:55:08.828Z', 'ana', 'structure', 'site-1.b', 'create', NULL, '{"feature_type": "structure", "id": "site-1.b", "facility_id": "site-1", "name": "B", "kind": "building", "location_precision": "approximate", "status": "unknown", "built": null, "removed": null, "notes": "", "source_ids": [], "footprint_m2": 0.0, "version": 1, "created_at": "2026-12-01T14:55:08.827Z", "updated_at": "2026-12-01T14:55:08.827Z", "geometry": {"type": "Point", "coordinates": [127.655, 39.925]}}');
INSERT INTO public.history VALUES (7, '2026-12-01T14:55:08.832Z', 'ana', 'observation', 'obs-1', 'create', NULL, '{"feature_type": "observation", "id": "obs-1", "facility_id": "site-1", "structure_id": "site-1.a", "date": "2024-10", "date_precision": "month", "date_start": "2024-10-01", "date_end": "2024-10-31", "kind": "progress", "summary": "roof", "image_provider": "esri-wayback", "image_id": "45134", "image_acquired": "2024-09-30", "confidence": "high", "analyst": "ana", "source_ids": ["src-1", "src-2"], "notes": "", "version": 1, "created_at": "2026-12-01T14:55:08.829Z", "updated_at": "2026-12-01T14:55:08.829Z", "geometry": {"type": "LineString", "coordinates": [[127.651, 39.921], [127.652, 39.922]]}}');
INSERT INTO public.history VALUES (8, '2026-12-01T14:55:08.833Z', 'bo', 'observation', 'obs-2', 'create', NULL, '{"feature_type": "observation", "id": "obs-2", "facility_id": "site-1", "structure_id": null, "date": "~2020", "date_precision": "approximate", "date_start": "2019-01-01", "date_end": "2021-12-31", "kind": "activity", "summary": "trucks", "image_provider": "eox-s2cloudless", "image_id": "2020", "image_acquired": "2020", "confidence": "medium", "analyst": "", "source_ids": [], "notes": "eox", "version": 1, "created_at": "2026-12-01T14:55:08.832Z", "updated_at": "2026-12-01T14:55:08.832Z"}');
INSERT INTO public.history VALUES (9, '2026-12-01T14:55:08.834Z', 'bo', 'observation', 'obs-3', 'create', NULL, '{"feature_type": "observation", "id": "obs-3", "facility_id": "site-2", "structure_id": null, "date": "2023-01-02", "date_precision": "day", "date_start": "2023-01-02", "date_end": "2023-01-02", "kind": "visit", "summary": "gone", "image_provider": null, "image_id": null, "image_acquired": null, "confidence": "medium", "analyst": "", "source_ids": [], "notes": "", "version": 1, "created_at": "2026-12-01T14:55:08.834Z", "updated_at": "2026-12-01T14:55:08.834Z"}');
INSERT INTO public.history VALUES (10, '2026-12-01T14:55:08.838Z', 'ana', 'facility', 'site-1', 'update', '{"feature_type": "facility", "id": "site-1", "name": "Site one", "aliases": [{"name": "구성", "lang": "ko"}], "country": "KP", "category": "missile", "status": "active", "location_precision": "digitised", "parents": [], "systems": ["KN-23"], "notes": "n", "source_ids": ["src-1"], "extra": {"x": [1, 2]}, "area_m2": 949191.8, "version": 1, "created_at": "2026-12-01T14:55:08.815Z", "updated_at": "2026-12-01T14:55:08.815Z", "geometry": {"type": "Polygon", "coordinates": [[[127.66, 39.92], [127.66, 39.93], [127.65, 39.93], [127.65, 39.92], [127.66, 39.92]]]}}', '{"feature_type": "facility", "id": "site-1", "name": "Site one", "aliases": [{"name": "구성", "lang": "ko"}], "country": "KP", "category": "missile", "status": "active", "location_precision": "digitised", "parents": [], "systems": ["KN-23"], "notes": "edited", "source_ids": ["src-1"], "extra": {"x": [1, 2]}, "area_m2": 949191.8, "version": 2, "created_at": "2026-12-01T14:55:08.815Z", "updated_at": "2026-12-01T14:55:08.837Z", "geometry": {"type": "Polygon", "coordinates": [[[127.66, 39.92], [127.66, 39.93], [127.65, 39.93], [127.65, 39.92], [127.66, 39.92]]]}}');
INSERT INTO public.history VALUES (11, '2026-12-01T14:55:08.841Z', 'ana', 'observation', 'obs-2', 'update', '{"feature_type": "observation", "id": "obs-2", "facility_id": "site-1", "structure_id": null, "date": "~2020", "date_precision": "approximate", "date_start": "2019-01-01", "date_end": "2021-12-31", "kind": "activity", "summary": "trucks", "image_provider": "eox-s2cloudless", "image_id": "2020", "image_acquired": "2020", "confidence": "medium", "analyst": "", "source_ids": [], "notes": "eox", "version": 1, "created_at": "2026-12-01T14:55:08.832Z", "updated_at": "2026-12-01T14:55:08.832Z"}', '{"feature_type": "observation", "id": "obs-2", "facility_id": "site-1", "structure_id": null, "date": "~2020", "date_precision": "approximate", "date_start": "2019-01-01", "date_end": "2021-12-31", "kind": "activity", "summary": "many trucks", "image_provider": "eox-s2cloudless", "image_id": "2020", "image_acquired": "2020", "confidence": "medium", "analyst": "", "source_ids": [], "notes": "eox", "version": 2, "created_at": "2026-12-01T14:55:08.832Z", "updated_at": "2026-12-01T14:55:08.840Z"}');
INSERT INTO public.history VALUES (12, '2026-12-01T14:55:08.842Z', 'bo', 'observation', 'obs-3', 'delete', '{"feature_type": "observation", "id": "obs-3", "facility_id": "site-2", "structure_id": null, "date": "2023-01-02", "date_precision": "day", "date_start": "2023-01-02", "date_end": "2023-01-02", "kind": "visit", "summary": "gone", "image_provider": null, "image_id": null, "image_acquired": null, "confidence": "medium", "analyst": "", "source_ids": [], "notes": "", "version": 1, "created_at": "2026-12-01T14:55:08.834Z", "updated_at": "2026-12-01T14:55:08.834Z"}', NULL);


--
-- Data for Name: observations; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.observations VALUES (1, '0102000020E6100000020000008B6CE7FBA9E95F40D9CEF753E3F543407D3F355EBAE95F40BC74931804F64340', 'obs-1', 'site-1', 'site-1.a', '2024-10', 'month', '2024-10-01', '2024-10-31', 'progress', 'roof', 'esri-wayback', '45134', '2024-09-30', 'high', 'ana', '["src-1","src-2"]', '', 1, '2026-12-01T14:55:08.829Z', '2026-12-01T14:55:08.829Z');
INSERT INTO public.observations VALUES (2, NULL, 'obs-2', 'site-1', NULL, '~2020', 'approximate', '2019-01-01', '2021-12-31', 'activity', 'many trucks', 'eox-s2cloudless', '2020', '2020', 'medium', '', '[]', 'eox', 2, '2026-12-01T14:55:08.832Z', '2026-12-01T14:55:08.840Z');


--
-- Data for Name: sources; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sources VALUES (1, 'src-1', 'Rapport – Kusŏng', '38 North', 'https://example.org/r', '2024-11', 'ko', '«new roof»', NULL, '', 1);
INSERT INTO public.sources VALUES (2, 'src-2', 'Second', '', 'https://example.org/2', NULL, NULL, '', NULL, '', 1);


--
-- Data for Name: spatial_ref_sys; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: structures; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.structures VALUES (1, '0103000020E610000001000000050000006F1283C0CAE95F40BC74931804F643406F1283C0CAE95F40A01A2FDD24F643407D3F355EBAE95F40A01A2FDD24F643407D3F355EBAE95F40BC74931804F643406F1283C0CAE95F40BC74931804F64340', 'site-1.a', 'site-1', 'A', 'building', 'approximate', 'unknown', '2019', '2021-06', '', '["src-1"]', 9492.258752501151, 1, '2026-12-01T14:55:08.823Z', '2026-12-01T14:55:08.823Z');
INSERT INTO public.structures VALUES (2, '0101000020E610000052B81E85EBE95F406666666666F64340', 'site-1.b', 'site-1', 'B', 'building', 'approximate', 'unknown', NULL, NULL, '', '[]', 0, 1, '2026-12-01T14:55:08.827Z', '2026-12-01T14:55:08.827Z');


--
-- Data for Name: tracker_meta; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.tracker_meta VALUES ('schema_version', '2');
INSERT INTO public.tracker_meta VALUES ('seed_version', '7');


--
-- Name: facilities_fid_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.facilities_fid_seq', 2, true);


--
-- Name: history_fid_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.history_fid_seq', 12, true);


--
-- Name: observations_fid_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.observations_fid_seq', 3, true);


--
-- Name: sources_fid_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.sources_fid_seq', 2, true);


--
-- Name: structures_fid_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.structures_fid_seq', 2, true);


--
-- Name: facilities facilities_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.facilities
    ADD CONSTRAINT facilities_id_key UNIQUE (id);


--
-- Name: facilities facilities_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.facilities
    ADD CONSTRAINT facilities_pkey PRIMARY KEY (fid);


--
-- Name: history history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.history
    ADD CONSTRAINT history_pkey PRIMARY KEY (fid);


--
-- Name: observations observations_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.observations
    ADD CONSTRAINT observations_id_key UNIQUE (id);


--
-- Name: observations observations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.observations
    ADD CONSTRAINT observations_pkey PRIMARY KEY (fid);


--
-- Name: sources sources_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sources
    ADD CONSTRAINT sources_id_key UNIQUE (id);


--
-- Name: sources sources_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sources
    ADD CONSTRAINT sources_pkey PRIMARY KEY (fid);


--
-- Name: structures structures_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.structures
    ADD CONSTRAINT structures_id_key UNIQUE (id);


--
-- Name: structures structures_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.structures
    ADD CONSTRAINT structures_pkey PRIMARY KEY (fid);


--
-- Name: tracker_meta tracker_meta_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tracker_meta
    ADD CONSTRAINT tracker_meta_pkey PRIMARY KEY (key);


--
-- Name: idx_facilities_geom; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_facilities_geom ON public.facilities USING gist (geom);


--
-- Name: idx_history_entity; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_history_entity ON public.history USING btree (entity, entity_id);


--
-- Name: idx_observations_dates; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_observations_dates ON public.observations USING btree (date_start, date_end);


--
-- Name: idx_observations_facility; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_observations_facility ON public.observations USING btree (facility_id, date_start);


--
-- Name: idx_observations_geom; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_observations_geom ON public.observations USING gist (geom);


--
-- Name: idx_observations_structure; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_observations_structure ON public.observations USING btree (structure_id);


--
-- Name: idx_structures_facility; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_structures_facility ON public.structures USING btree (facility_id);


--
-- Name: idx_structures_geom; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_structures_geom ON public.structures USING gist (geom);


--
-- Name: observations observations_facility_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.observations
    ADD CONSTRAINT observations_facility_id_fkey FOREIGN KEY (facility_id) REFERENCES public.facilities(id) ON UPDATE CASCADE;


--
-- Name: observations observations_structure_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.observations
    ADD CONSTRAINT observations_structure_id_fkey FOREIGN KEY (structure_id) REFERENCES public.structures(id) ON UPDATE CASCADE;


--
-- Name: structures structures_facility_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.structures
    ADD CONSTRAINT structures_facility_id_fkey FOREIGN KEY (facility_id) REFERENCES public.facilities(id) ON UPDATE CASCADE;


--
-- PostgreSQL database dump complete
--


