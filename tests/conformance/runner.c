/*
 * The conformance scenarios' C runner (tests/conformance/README.md has the format).
 *
 * Plays every scenario file named on the command line one call at a time through the C face
 * (ffi/include/haoyuan.h, libhaoyuan), parsing the scenarios with cJSON (Debian's
 * libcjson-dev), checks each call's outcome against the scenario's `expect` (and `check`), and
 * writes one canonical JSON line per call and then one per event to OUT/NAME.jsonl. The Rust
 * runner (runner.rs) and the Python runner (runner.py) do the same through their faces;
 * `make test-conformance` compares the three outputs byte for byte.
 *
 *     runner [--out DIR] SCENARIO.json...
 *
 * Exit status: 0 when every expectation held, 1 when one did not (each mismatch is printed),
 * 2 when a scenario file is malformed (or memory ran out).
 *
 * Every hy_result is looked at: it is the call's outcome, printed and compared with `expect`.
 * Strings the library hands out (the mutating FHIR calls' `json_out`) are freed with
 * hy_string_free; everything cJSON allocates is freed with cJSON_Delete / cJSON_free.
 */

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "haoyuan.h"

/* The card key every runner uses unless a scenario names one (bytes 0, 1, … 31). */
#define CARD_KEY_DEFAULT "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* Integers beyond ±2^53 are written as strings: cJSON holds numbers as doubles. */
#define EXACT_MAX 9007199254740992.0
#define EXACT_MAX_TEXT "9007199254740992"

/* Ids bound with "as", at most this many per scenario (a bound on a runner's memory). */
#define NAMES_MAX 1024

/* ------------------------------------------------------------------ small helpers */

static void *need(void *p) {
    if (p == NULL) {
        fprintf(stderr, "conformance (c): out of memory\n");
        exit(2);
    }
    return p;
}

/* A growing text buffer. */
typedef struct {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) cap *= 2;
        t->p = need(realloc(t->p, cap));
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static void printf_(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(text *t, const char *fmt, ...) {
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) {
        fprintf(stderr, "conformance (c): number too long\n");
        exit(2);
    }
    put(t, buf, (size_t)n);
}

/* The error-table name of a result (the names of core/src/error.rs), "ok" for HY_OK. */
static const char *result_name(hy_result r) {
    switch (r) {
    case HY_OK: return "ok";
    case HY_NULL_PARAMETER: return "NullParameter";
    case HY_PANIC: return "Panic";
    case HY_INVALID_UTF8: return "InvalidUtf8";
    case HY_BUFFER_TOO_SMALL: return "BufferTooSmall";
    case HY_INVALID_ARGUMENT: return "InvalidArgument";
    case HY_INVALID_POLICY: return "InvalidPolicy";
    case HY_NOT_FOUND: return "NotFound";
    case HY_CARD_TAKEN: return "CardTaken";
    case HY_WRONG_STATE: return "WrongState";
    case HY_HOLD_EXPIRED: return "HoldExpired";
    case HY_SLOT_FULL: return "SlotFull";
    case HY_SLOT_CLOSED: return "SlotClosed";
    case HY_NOT_OPEN_YET: return "NotOpenYet";
    case HY_BOOKING_CLOSED: return "BookingClosed";
    case HY_PATIENT_SUSPENDED: return "PatientSuspended";
    case HY_LIMIT_REACHED: return "LimitReached";
    case HY_REFERRAL_INVALID: return "ReferralInvalid";
    case HY_LOTTERY_WINDOW: return "LotteryWindow";
    case HY_PATIENT_MERGED: return "PatientMerged";
    case HY_NOT_MANUAL_CLOCK: return "NotManualClock";
    case HY_CAPACITY_EXCEEDED: return "CapacityExceeded";
    case HY_INVALID_DATE: return "InvalidDate";
    case HY_DURABILITY: return "Durability";
    }
    return "UnknownResult";
}

static const char *state_name(hy_booking_state s) {
    static const char *names[] = {"held", "booked", "checked_in", "fulfilled",
                                  "expired", "cancelled", "provider_cancelled", "no_show"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

static const char *pool_name(hy_pool p) {
    static const char *names[] = {"general", "referral", "quota0", "quota1"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "unknown";
}

static const char *tier_name(hy_tier t) {
    switch (t) {
    case HY_TIER_COMMUNITY: return "community";
    case HY_TIER_SECONDARY: return "secondary";
    case HY_TIER_TERTIARY: return "tertiary";
    }
    return "unknown";
}

static const char *urgency_name(hy_urgency u) {
    switch (u) {
    case HY_URGENCY_EMERGENCY: return "emergency";
    case HY_URGENCY_URGENT: return "urgent";
    case HY_URGENCY_ROUTINE: return "routine";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ canonical JSON */

static void write_string(text *t, const char *s) {
    put(t, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': puts_(t, "\\\""); break;
        case '\\': puts_(t, "\\\\"); break;
        case '\n': puts_(t, "\\n"); break;
        case '\r': puts_(t, "\\r"); break;
        case '\t': puts_(t, "\\t"); break;
        case '\b': puts_(t, "\\b"); break;
        case '\f': puts_(t, "\\f"); break;
        default:
            if (*c < 0x20)
                printf_(t, "\\u%04x", *c);
            else
                put(t, (const char *)c, 1);
        }
    }
    put(t, "\"", 1);
}

static void write_number(text *t, double d) {
    if (d == floor(d) && fabs(d) <= EXACT_MAX) {
        printf_(t, "%lld", (long long)d);
        return;
    }
    char buf[400];
    snprintf(buf, sizeof buf, "%.6f", d);
    size_t n = strlen(buf);
    if (strchr(buf, '.') != NULL) {
        while (n > 0 && buf[n - 1] == '0') n--;
        if (n > 0 && buf[n - 1] == '.') n--;
    }
    buf[n] = '\0';
    puts_(t, strcmp(buf, "-0") == 0 ? "0" : buf);
}

static int by_key(const void *a, const void *b) {
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string); /* strcmp compares bytes as unsigned char */
}

/* The canonical JSON text every runner writes (README: "Canonical JSON"). */
static void canonical(text *t, const cJSON *v) {
    if (v == NULL || cJSON_IsNull(v)) {
        puts_(t, "null");
    } else if (cJSON_IsTrue(v)) {
        puts_(t, "true");
    } else if (cJSON_IsFalse(v)) {
        puts_(t, "false");
    } else if (cJSON_IsNumber(v)) {
        write_number(t, v->valuedouble);
    } else if (cJSON_IsString(v)) {
        write_string(t, v->valuestring);
    } else if (cJSON_IsArray(v)) {
        put(t, "[", 1);
        for (const cJSON *x = v->child; x; x = x->next) {
            if (x != v->child) put(t, ",", 1);
            canonical(t, x);
        }
        put(t, "]", 1);
    } else if (cJSON_IsObject(v)) {
        size_t n = 0;
        for (const cJSON *x = v->child; x; x = x->next) n++;
        const cJSON **keys = need(calloc(n ? n : 1, sizeof *keys));
        n = 0;
        for (const cJSON *x = v->child; x; x = x->next) keys[n++] = x;
        qsort(keys, n, sizeof *keys, by_key);
        put(t, "{", 1);
        for (size_t i = 0; i < n; i++) {
            if (i) put(t, ",", 1);
            write_string(t, keys[i]->string);
            put(t, ":", 1);
            canonical(t, keys[i]);
        }
        put(t, "}", 1);
        free(keys);
    } else {
        puts_(t, "null");
    }
}

static char *canonical_text(const cJSON *v) {
    text t = {0};
    canonical(&t, v);
    return t.p;
}

/* JSON text from the library with every integer beyond ±2^53 turned into a string of its
 * digits (cJSON would round it to a double), as the canonical form writes such integers. */
static char *quote_big_integers(const char *s) {
    text t = {0};
    put(&t, "", 0);
    int in_string = 0;
    for (const char *c = s; *c;) {
        if (in_string) {
            if (*c == '\\' && c[1]) {
                put(&t, c, 2);
                c += 2;
                continue;
            }
            if (*c == '"') in_string = 0;
            put(&t, c, 1);
            c++;
        } else if (*c == '"') {
            in_string = 1;
            put(&t, c, 1);
            c++;
        } else if (*c == '-' || (*c >= '0' && *c <= '9')) {
            const char *end = c + 1;
            while (*end && strchr("0123456789+-.eE", *end)) end++;
            size_t n = (size_t)(end - c);
            const char *digits = *c == '-' ? c + 1 : c;
            size_t nd = (size_t)(end - digits);
            int integer = nd > 0 && strspn(digits, "0123456789") >= nd;
            size_t nmax = strlen(EXACT_MAX_TEXT);
            int big = integer && (nd > nmax || (nd == nmax && strncmp(digits, EXACT_MAX_TEXT, nd) > 0));
            if (big) put(&t, "\"", 1);
            put(&t, c, n);
            if (big) put(&t, "\"", 1);
            c = end;
        } else {
            put(&t, c, 1);
            c++;
        }
    }
    return t.p;
}

/* Parse JSON text from the library (big integers as strings). */
static cJSON *parse_library_json(const char *s) {
    char *quoted = quote_big_integers(s);
    cJSON *v = cJSON_Parse(quoted);
    free(quoted);
    return v;
}

static cJSON *lookup(cJSON *v, const char *path) {
    char *copy = need(strdup(path));
    char *save = NULL;
    for (char *key = strtok_r(copy, ".", &save); key && v; key = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsObject(v)) {
            v = cJSON_GetObjectItemCaseSensitive(v, key);
        } else if (cJSON_IsArray(v) && key[0] && strspn(key, "0123456789") == strlen(key)) {
            v = cJSON_GetArrayItem(v, atoi(key));
        } else {
            v = NULL;
        }
    }
    free(copy);
    return v;
}

/* ------------------------------------------------------------------ output values */

static void add_u64(cJSON *o, const char *key, uint64_t v) {
    if ((double)v > EXACT_MAX) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRIu64, v);
        need(cJSON_AddStringToObject(o, key, buf));
    } else {
        need(cJSON_AddNumberToObject(o, key, (double)v));
    }
}

static void add_i64(cJSON *o, const char *key, int64_t v) {
    need(cJSON_AddNumberToObject(o, key, (double)v));
}

static void add_opt_u64(cJSON *o, const char *key, uint64_t v, uint64_t none) {
    if (v == none)
        need(cJSON_AddNullToObject(o, key));
    else
        add_u64(o, key, v);
}

static cJSON *booking_json(const hy_booking *b) {
    cJSON *o = need(cJSON_CreateObject());
    add_u64(o, "id", b->id);
    add_u64(o, "patient", b->patient);
    add_u64(o, "slot", b->slot);
    add_u64(o, "department", b->department);
    add_i64(o, "date", b->date);
    add_u64(o, "channel", b->channel);
    need(cJSON_AddStringToObject(o, "state", state_name(b->state)));
    need(cJSON_AddStringToObject(o, "pool", pool_name(b->pool)));
    add_opt_u64(o, "referral", b->referral, 0);
    add_opt_u64(o, "offer", b->offer, 0);
    add_i64(o, "created_at", b->created_at);
    add_i64(o, "expires_at", b->expires_at);
    add_i64(o, "starts_at", b->starts_at);
    return o;
}

static cJSON *slot_json(const hy_slot_info *s) {
    cJSON *o = need(cJSON_CreateObject());
    add_u64(o, "id", s->id);
    add_u64(o, "resource", s->resource);
    add_u64(o, "department", s->department);
    add_u64(o, "institution", s->institution);
    add_i64(o, "date", s->date);
    add_u64(o, "start_min", s->start_min);
    add_u64(o, "end_min", s->end_min);
    add_u64(o, "capacity", s->capacity);
    cJSON *places = need(cJSON_AddArrayToObject(o, "pool_places"));
    cJSON *taken = need(cJSON_AddArrayToObject(o, "pool_taken"));
    for (int i = 0; i < 4; i++) {
        cJSON_AddItemToArray(places, need(cJSON_CreateNumber(s->pool_places[i])));
        cJSON_AddItemToArray(taken, need(cJSON_CreateNumber(s->pool_taken[i])));
    }
    need(cJSON_AddBoolToObject(o, "closed", s->closed));
    add_i64(o, "starts_at", s->starts_at);
    add_i64(o, "ends_at", s->ends_at);
    return o;
}

/* ------------------------------------------------------------------ a run of one scenario */

typedef struct {
    uint64_t seq;
    char *line;
} event_line;

typedef struct {
    const char *name;
    hy_engine *engine;
    hy_subscription *events;
    hy_subscription *filtered; /* the last `subscribe` op's (some types only), read by `poll_events` */
    int32_t utc_offset_s;
    struct {
        char *name;
        cJSON *value;
    } names[NAMES_MAX];
    size_t names_len;
    text out;
    event_line *events_out;
    size_t events_len, events_cap;
    int mismatches;
    char bad[512]; /* why the scenario is malformed */
} run;

static int bad(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(run *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->bad, sizeof r->bad, fmt, ap);
    va_end(ap);
    return -1;
}

#define TRY(x)                                                                                  \
    do {                                                                                        \
        if ((x) != 0) return -1;                                                                \
    } while (0)

static cJSON *bound(run *r, const char *name) {
    for (size_t i = 0; i < r->names_len; i++)
        if (strcmp(r->names[i].name, name) == 0) return r->names[i].value;
    return NULL;
}

static int bind(run *r, const char *name, const cJSON *value) {
    for (size_t i = 0; i < r->names_len; i++) {
        if (strcmp(r->names[i].name, name) == 0) {
            cJSON_Delete(r->names[i].value);
            r->names[i].value = need(cJSON_Duplicate(value, 1));
            return 0;
        }
    }
    if (r->names_len == NAMES_MAX) return bad(r, "more than %d names", NAMES_MAX);
    r->names[r->names_len].name = need(strdup(name));
    r->names[r->names_len].value = need(cJSON_Duplicate(value, 1));
    r->names_len++;
    return 0;
}

/* An id argument: a number, or the name of a bound id. */
static int id_value(run *r, const cJSON *v, const char *key, uint64_t *out) {
    *out = 0;
    if (cJSON_IsString(v)) {
        const cJSON *b = bound(r, v->valuestring);
        if (b == NULL || !cJSON_IsNumber(b)) return bad(r, "%s: \"%s\" is not bound to an id", key, v->valuestring);
        v = b;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > EXACT_MAX || v->valuedouble != floor(v->valuedouble))
        return bad(r, "%s: an id is a number or a bound name", key);
    *out = (uint64_t)v->valuedouble;
    return 0;
}

static int get_id(run *r, const cJSON *a, const char *key, uint64_t *out) {
    *out = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
    if (v == NULL) return bad(r, "missing argument %s", key);
    return id_value(r, v, key, out);
}

static int get_id32(run *r, const cJSON *a, const char *key, uint32_t *out) {
    *out = 0;
    uint64_t v;
    TRY(get_id(r, a, key, &v));
    if (v > UINT32_MAX) return bad(r, "%s does not fit 32 bits", key);
    *out = (uint32_t)v;
    return 0;
}

/* An optional id: `none` when absent or null. */
static int opt_id(run *r, const cJSON *a, const char *key, uint64_t none, uint64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
    if (v == NULL || cJSON_IsNull(v)) {
        *out = none;
        return 0;
    }
    return id_value(r, v, key, out);
}

static int opt_id32(run *r, const cJSON *a, const char *key, uint32_t *out) {
    *out = HY_NONE;
    uint64_t v;
    TRY(opt_id(r, a, key, HY_NONE, &v));
    if (v > UINT32_MAX) return bad(r, "%s does not fit 32 bits", key);
    *out = (uint32_t)v;
    return 0;
}

static int get_text(run *r, const cJSON *a, const char *key, const char **out) {
    *out = "";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
    if (!cJSON_IsString(v)) return bad(r, "missing text argument %s", key);
    *out = v->valuestring;
    return 0;
}

static int opt_text(run *r, const cJSON *a, const char *key, const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v)) return bad(r, "%s is text", key);
    *out = v->valuestring;
    return 0;
}

static int get_flag(run *r, const cJSON *a, const char *key, bool *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
    *out = false;
    if (v == NULL) return 0;
    if (!cJSON_IsBool(v)) return bad(r, "%s is true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_number(run *r, const cJSON *a, const char *key, double lo, double hi, double *out) {
    *out = lo;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        return bad(r, "%s is a whole number %.0f ..= %.0f", key, lo, hi);
    *out = v->valuedouble;
    return 0;
}

static int get_u16(run *r, const cJSON *a, const char *key, uint16_t *out) {
    *out = 0;
    double d;
    TRY(get_number(r, a, key, 0, 65535, &d));
    *out = (uint16_t)d;
    return 0;
}

/* "HH:MM" as minutes after midnight ("24:00" is 1440). */
static int minute_of(run *r, const cJSON *v, const char *key, uint16_t *out) {
    *out = 0;
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    if (strlen(s) != 5 || s[2] != ':' || strspn(s, "0123456789") != 2 || strspn(s + 3, "0123456789") != 2)
        return bad(r, "%s \"%s\" is not HH:MM", key, s);
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59) return bad(r, "%s \"%s\" is not HH:MM", key, s);
    *out = (uint16_t)(h * 60 + m);
    return 0;
}

static int get_minute(run *r, const cJSON *a, const char *key, uint16_t *out) {
    return minute_of(r, cJSON_GetObjectItemCaseSensitive(a, key), key, out);
}

/* `time`: ["HH:MM", "HH:MM"], or (0, 0) for the whole day when absent. */
static int get_time(run *r, const cJSON *a, uint16_t *start, uint16_t *end) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(a, "time");
    *start = *end = 0;
    if (t == NULL || cJSON_IsNull(t)) return 0;
    if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) != 2) return bad(r, "time is [\"HH:MM\", \"HH:MM\"]");
    TRY(minute_of(r, cJSON_GetArrayItem(t, 0), "time", start));
    return minute_of(r, cJSON_GetArrayItem(t, 1), "time", end);
}

static int get_tier(run *r, const cJSON *a, hy_tier *out) {
    *out = HY_TIER_ANY;
    const char *t;
    TRY(get_text(r, a, "tier", &t));
    if (strcmp(t, "community") == 0) *out = HY_TIER_COMMUNITY;
    else if (strcmp(t, "secondary") == 0) *out = HY_TIER_SECONDARY;
    else if (strcmp(t, "tertiary") == 0) *out = HY_TIER_TERTIARY;
    else return bad(r, "tier \"%s\"", t);
    return 0;
}

/* What a call came to: its result and, on HY_OK, its output. */
typedef struct {
    hy_result code;
    cJSON *out;
} outcome;

/* A date through the face (a bad date is the call's outcome, not a bad scenario). */
static int get_date(run *r, const cJSON *a, const char *key, hy_date *out, hy_result *code) {
    *out = 0;
    const char *s;
    TRY(get_text(r, a, key, &s));
    *code = hy_date_parse(s, out);
    return 0;
}

/* {"date": "YYYY-MM-DD", "time": "HH:MM"} as an instant in the region's time. */
static int get_instant(run *r, const cJSON *a, hy_timestamp *out, hy_result *code) {
    hy_date d;
    uint16_t m;
    TRY(get_minute(r, a, "time", &m));
    TRY(get_date(r, a, "date", &d, code));
    if (*code == HY_OK) *code = hy_timestamp_from_local(d, m, r->utc_offset_s, out);
    return 0;
}

/* A channel: its name (resolved through the face, as a host would) or its id. */
static int get_channel(run *r, const cJSON *a, hy_channel_id *out, hy_result *code) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "channel");
    *code = HY_OK;
    if (cJSON_IsString(c)) {
        *code = hy_engine_channel_id(r->engine, c->valuestring, out);
        return 0;
    }
    if (c == NULL) return bad(r, "missing argument channel");
    uint64_t v;
    TRY(id_value(r, c, "channel", &v));
    if (v > UINT16_MAX) return bad(r, "channel does not fit 16 bits");
    *out = (hy_channel_id)v;
    return 0;
}

static int get_request(run *r, const cJSON *a, hy_request *req, hy_result *code) {
    memset(req, 0, sizeof *req);
    TRY(get_id32(r, a, "patient", &req->patient));
    TRY(get_id32(r, a, "slot", &req->slot));
    TRY(opt_id(r, a, "referral", 0, &req->referral));
    TRY(get_flag(r, a, "follow_up", &req->follow_up));
    return get_channel(r, a, &req->channel, code);
}

/* A copy of `v` with `{name}` in its strings replaced by bound values; a string that is exactly
 * `{name}` becomes the bound value itself. NULL (with r->bad) when a name is not bound. */
static cJSON *resolved(run *r, const cJSON *v) {
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        size_t n = strlen(s);
        if (n >= 2 && s[0] == '{' && s[n - 1] == '}' && strcspn(s + 1, "{}") == n - 2) {
            char name[256];
            if (n - 2 >= sizeof name) return bad(r, "name too long in \"%s\"", s), NULL;
            memcpy(name, s + 1, n - 2);
            name[n - 2] = '\0';
            const cJSON *b = bound(r, name);
            if (b == NULL) return bad(r, "%s is not bound", s), NULL;
            return need(cJSON_Duplicate(b, 1));
        }
        text t = {0};
        put(&t, "", 0);
        while (*s) {
            const char *open = strchr(s, '{');
            if (open == NULL) {
                puts_(&t, s);
                break;
            }
            put(&t, s, (size_t)(open - s));
            const char *close = strchr(open, '}');
            char name[256];
            size_t len = close ? (size_t)(close - open - 1) : 0;
            const cJSON *b = NULL;
            if (close != NULL && len < sizeof name) {
                memcpy(name, open + 1, len);
                name[len] = '\0';
                b = bound(r, name);
            }
            if (cJSON_IsString(b)) {
                puts_(&t, b->valuestring);
            } else if (cJSON_IsNumber(b)) {
                printf_(&t, "%.0f", b->valuedouble);
            } else {
                free(t.p);
                return bad(r, "a {name} in \"%s\" is not bound to an id or a string", v->valuestring), NULL;
            }
            s = close + 1;
        }
        cJSON *out = need(cJSON_CreateString(t.p));
        free(t.p);
        return out;
    }
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        cJSON *out = need(cJSON_IsArray(v) ? cJSON_CreateArray() : cJSON_CreateObject());
        for (const cJSON *x = v->child; x; x = x->next) {
            cJSON *y = resolved(r, x);
            if (y == NULL) {
                cJSON_Delete(out);
                return NULL;
            }
            if (cJSON_IsArray(v))
                cJSON_AddItemToArray(out, y);
            else
                cJSON_AddItemToObject(out, x->string, y);
        }
        return out;
    }
    return need(cJSON_Duplicate(v, 1));
}

/* A FHIR body argument as JSON text (free with cJSON_free). */
static int get_body(run *r, const cJSON *a, const char *key, char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
    if (v == NULL) return bad(r, "missing argument %s", key);
    cJSON *copy = resolved(r, v);
    if (copy == NULL) return -1;
    *out = need(cJSON_PrintUnformatted(copy));
    cJSON_Delete(copy);
    return 0;
}

/* The outcome of a FHIR call that hands out a string (freed here with hy_string_free). */
static outcome fhir_handed_out(hy_result code, char *json) {
    outcome o = {code, NULL};
    if (code == HY_OK) {
        cJSON *resource = parse_library_json(json);
        hy_string_free(json);
        if (resource == NULL) {
            fprintf(stderr, "conformance (c): the library returned text that is not JSON\n");
            exit(2);
        }
        o.out = need(cJSON_CreateObject());
        cJSON_AddItemToObject(o.out, "resource", resource);
    }
    return o;
}

typedef hy_result (*read_call)(const hy_engine *, const void *arg, char *buf, size_t len, size_t *written);

/* The outcome of a read-only call that copies JSON into a buffer (grown on HY_BUFFER_TOO_SMALL):
 * the FHIR exports and $find, the patient record. */
static outcome copied_json(run *r, read_call call, const void *arg) {
    size_t len = 4096, written = 0;
    char *buf = need(malloc(len));
    hy_result code = call(r->engine, arg, buf, len, &written);
    if (code == HY_BUFFER_TOO_SMALL) {
        len = written + 1;
        buf = need(realloc(buf, len));
        code = call(r->engine, arg, buf, len, &written);
    }
    outcome o = {code, NULL};
    if (code == HY_OK) {
        cJSON *resource = parse_library_json(buf);
        if (resource == NULL) {
            fprintf(stderr, "conformance (c): the library returned text that is not JSON\n");
            exit(2);
        }
        o.out = need(cJSON_CreateObject());
        cJSON_AddItemToObject(o.out, "resource", resource);
    }
    free(buf);
    return o;
}

static hy_result call_find(const hy_engine *e, const void *arg, char *buf, size_t len, size_t *w) {
    return hy_engine_fhir_find(e, arg, buf, len, w);
}
static hy_result call_export_bundle(const hy_engine *e, const void *arg, char *buf, size_t len, size_t *w) {
    return hy_engine_fhir_export_bundle(e, arg, buf, len, w);
}
static hy_result call_export_slot(const hy_engine *e, const void *arg, char *buf, size_t len, size_t *w) {
    return hy_engine_fhir_export_slot(e, *(const hy_slot_id *)arg, buf, len, w);
}
static hy_result call_export_appointment(const hy_engine *e, const void *arg, char *buf, size_t len, size_t *w) {
    return hy_engine_fhir_export_appointment(e, *(const hy_booking_id *)arg, buf, len, w);
}
static hy_result call_patient_record(const hy_engine *e, const void *arg, char *buf, size_t len, size_t *w) {
    return hy_engine_patient_record_json(e, *(const hy_patient_id *)arg, buf, len, w);
}

static outcome with_id(hy_result code, uint64_t id) {
    outcome o = {code, NULL};
    if (code == HY_OK) {
        o.out = need(cJSON_CreateObject());
        add_u64(o.out, "id", id);
    }
    return o;
}

/* One event of the filtered subscription, as {seq, event} into the array `userdata`. */
static int32_t on_filtered_event(void *userdata, uint64_t seq, const char *json, size_t json_len) {
    cJSON *list = userdata;
    (void)json_len;
    cJSON *event = parse_library_json(json);
    const cJSON *kind = event ? cJSON_GetObjectItemCaseSensitive(event, "kind") : NULL;
    const cJSON *type = kind ? cJSON_GetObjectItemCaseSensitive(kind, "type") : NULL;
    if (!cJSON_IsString(type)) {
        fprintf(stderr, "conformance (c): event %" PRIu64 " has no type\n", seq);
        exit(2);
    }
    cJSON *item = need(cJSON_CreateObject());
    add_u64(item, "seq", seq);
    need(cJSON_AddStringToObject(item, "event", type->valuestring));
    cJSON_AddItemToArray(list, item);
    cJSON_Delete(event);
    return 0;
}

static outcome empty(hy_result code) {
    outcome o = {code, NULL};
    if (code == HY_OK) o.out = need(cJSON_CreateObject());
    return o;
}

static outcome with_booking(hy_result code, const hy_booking *b) {
    outcome o = {code, NULL};
    if (code == HY_OK) o.out = booking_json(b);
    return o;
}

static outcome with_now(run *r, hy_result code) {
    outcome o = {code, NULL};
    if (code != HY_OK) return o;
    hy_timestamp now;
    o.code = hy_engine_now(r->engine, &now);
    if (o.code == HY_OK) {
        o.out = need(cJSON_CreateObject());
        add_i64(o.out, "now", now);
    }
    return o;
}

static outcome failed(hy_result code) {
    outcome o = {code, NULL};
    return o;
}

/* ------------------------------------------------------------------ the calls */

/* One call through the C face; -1 (with r->bad) for a malformed operation. */
static int call(run *r, const char *op, const cJSON *a, outcome *o) {
    hy_engine *e = r->engine;
    hy_result code = HY_OK;
    *o = failed(HY_OK);
    if (strcmp(op, "advance_clock") == 0) {
        double s;
        TRY(get_number(r, a, "seconds", -9e15, 9e15, &s));
        *o = with_now(r, hy_engine_advance_clock(e, (int64_t)s));
    } else if (strcmp(op, "advance_to") == 0) {
        hy_timestamp t = 0;
        TRY(get_instant(r, a, &t, &code));
        *o = code != HY_OK ? failed(code) : with_now(r, hy_engine_advance_to(e, t));
    } else if (strcmp(op, "add_institution") == 0) {
        const char *name, *district;
        hy_tier tier;
        hy_institution_id id = 0;
        TRY(get_text(r, a, "name", &name));
        TRY(get_tier(r, a, &tier));
        TRY(get_text(r, a, "district", &district));
        code = hy_engine_add_institution(e, name, tier, district, &id);
        *o = with_id(code, id);
    } else if (strcmp(op, "add_department") == 0) {
        uint32_t inst;
        const char *specialty, *name;
        hy_department_id id = 0;
        TRY(get_id32(r, a, "institution", &inst));
        TRY(get_text(r, a, "specialty", &specialty));
        TRY(get_text(r, a, "name", &name));
        code = hy_engine_add_department(e, inst, specialty, name, &id);
        *o = with_id(code, id);
    } else if (strcmp(op, "add_resource") == 0) {
        static const char *kinds[] = {"doctor", "bed", "exam", "nursing", "pharmacy", "service"};
        static const hy_resource_kind kind_codes[] = {HY_RESOURCE_DOCTOR, HY_RESOURCE_BED, HY_RESOURCE_EXAM,
                                                      HY_RESOURCE_NURSING, HY_RESOURCE_PHARMACY, HY_RESOURCE_SERVICE};
        uint32_t dept;
        const char *kind, *name;
        bool expert;
        hy_resource_id id = 0;
        size_t k = 0;
        TRY(get_id32(r, a, "department", &dept));
        TRY(get_text(r, a, "kind", &kind));
        while (k < 6 && strcmp(kinds[k], kind) != 0) k++;
        if (k == 6) return bad(r, "kind \"%s\"", kind);
        TRY(get_text(r, a, "name", &name));
        TRY(get_flag(r, a, "expert", &expert));
        code = hy_engine_add_resource(e, dept, kind_codes[k], name, expert, &id);
        *o = with_id(code, id);
    } else if (strcmp(op, "add_channel") == 0 || strcmp(op, "channel_id") == 0) {
        const char *name;
        hy_channel_id id = 0;
        TRY(get_text(r, a, "name", &name));
        code = op[0] == 'a' ? hy_engine_add_channel(e, name, &id) : hy_engine_channel_id(e, name, &id);
        *o = with_id(code, id);
    } else if (strcmp(op, "register_patient") == 0) {
        hy_patient_id id = 0;
        code = hy_engine_register_patient(e, &id);
        *o = with_id(code, id);
    } else if (strcmp(op, "link_card") == 0) {
        uint32_t p;
        const char *type, *number;
        TRY(get_id32(r, a, "patient", &p));
        TRY(get_text(r, a, "card_type", &type));
        TRY(get_text(r, a, "number", &number));
        *o = empty(hy_engine_link_card(e, p, type, number));
    } else if (strcmp(op, "find_patient_by_card") == 0) {
        const char *type, *number;
        hy_patient_id id = 0;
        TRY(get_text(r, a, "card_type", &type));
        TRY(get_text(r, a, "number", &number));
        code = hy_engine_find_patient_by_card(e, type, number, &id);
        *o = with_id(code, id);
    } else if (strcmp(op, "merge_patients") == 0) {
        uint32_t survivor, merged;
        TRY(get_id32(r, a, "survivor", &survivor));
        TRY(get_id32(r, a, "merged", &merged));
        *o = empty(hy_engine_merge_patients(e, survivor, merged));
    } else if (strcmp(op, "patient_record") == 0) {
        hy_patient_id p;
        TRY(get_id32(r, a, "patient", &p));
        outcome rec = copied_json(r, call_patient_record, &p);
        *o = failed(rec.code);
        if (rec.code == HY_OK) {
            cJSON *src = cJSON_GetObjectItemCaseSensitive(rec.out, "resource");
            cJSON *out = need(cJSON_CreateObject());
            cJSON_AddItemToObject(out, "id", need(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(src, "patient"), 1)));
            cJSON *cards = need(cJSON_AddArrayToObject(out, "cards"));
            const cJSON *x;
            cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(src, "cards")) {
                cJSON *c = need(cJSON_CreateObject());
                cJSON_AddItemToObject(c, "card_type", need(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(x, "card_type"), 1)));
                cJSON_AddItemToObject(c, "masked", need(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(x, "masked"), 1)));
                cJSON_AddItemToArray(cards, c);
            }
            static const char *same[] = {"no_shows_in_window", "suspended_until", "waitlist_entries"};
            for (size_t i = 0; i < 3; i++)
                cJSON_AddItemToObject(out, same[i], need(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(src, same[i]), 1)));
            static const char *lists[] = {"active_bookings", "referrals"};
            for (size_t i = 0; i < 2; i++) {
                cJSON *ids = need(cJSON_AddArrayToObject(out, lists[i]));
                cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(src, lists[i]))
                    cJSON_AddItemToArray(ids, need(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(x, "id"), 1)));
            }
            cJSON_Delete(rec.out);
            o->out = out;
        }
    } else if (strcmp(op, "publish_slots") == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(a, "slots");
        if (!cJSON_IsArray(list)) return bad(r, "slots is an array");
        size_t n = (size_t)cJSON_GetArraySize(list), i = 0;
        hy_slot_spec *specs = need(calloc(n ? n : 1, sizeof *specs));
        const cJSON *s;
        int rc = 0;
        cJSON_ArrayForEach(s, list) {
            hy_slot_spec *spec = &specs[i++];
            if (get_id32(r, s, "resource", &spec->resource) || get_minute(r, s, "start", &spec->start_min) ||
                get_minute(r, s, "end", &spec->end_min) || get_u16(r, s, "capacity", &spec->capacity) ||
                get_date(r, s, "date", &spec->date, &code)) {
                rc = -1;
                break;
            }
            if (code != HY_OK) break;
        }
        if (rc == 0) {
            hy_slot_id first = 0;
            if (code == HY_OK) code = hy_engine_publish_slots(e, specs, n, &first);
            *o = failed(code);
            if (code == HY_OK) {
                o->out = need(cJSON_CreateObject());
                add_u64(o->out, "id", first);
                cJSON *ids = need(cJSON_AddArrayToObject(o->out, "ids"));
                for (size_t k = 0; k < n; k++) cJSON_AddItemToArray(ids, need(cJSON_CreateNumber((double)first + (double)k)));
            }
        }
        free(specs);
        return rc;
    } else if (strcmp(op, "add_roster") == 0) {
        hy_roster ro;
        memset(&ro, 0, sizeof ro);
        const cJSON *days = cJSON_GetObjectItemCaseSensitive(a, "weekdays"), *d;
        if (!cJSON_IsArray(days)) return bad(r, "weekdays is an array");
        cJSON_ArrayForEach(d, days) {
            if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 6 || d->valuedouble != floor(d->valuedouble))
                return bad(r, "weekdays are 0 (Monday) ..= 6");
            ro.weekdays |= (uint8_t)(1u << (unsigned)d->valuedouble);
        }
        TRY(get_id32(r, a, "resource", &ro.resource));
        TRY(get_minute(r, a, "start", &ro.start_min));
        TRY(get_minute(r, a, "end", &ro.end_min));
        TRY(get_u16(r, a, "segment_min", &ro.segment_min));
        TRY(get_u16(r, a, "places", &ro.places));
        const cJSON *closed = cJSON_GetObjectItemCaseSensitive(a, "closed_dates");
        size_t n = cJSON_IsArray(closed) ? (size_t)cJSON_GetArraySize(closed) : 0, i = 0;
        hy_date *dates = need(calloc(n ? n : 1, sizeof *dates));
        cJSON_ArrayForEach(d, closed) {
            if (!cJSON_IsString(d)) {
                free(dates);
                return bad(r, "closed_dates are dates");
            }
            if (code == HY_OK) code = hy_date_parse(d->valuestring, &dates[i++]);
        }
        hy_result from_code = HY_OK, until_code = HY_OK;
        if (get_date(r, a, "valid_from", &ro.valid_from, &from_code) != 0 ||
            get_date(r, a, "valid_until", &ro.valid_until, &until_code) != 0) {
            free(dates);
            return -1;
        }
        if (code == HY_OK) code = from_code;
        if (code == HY_OK) code = until_code;
        ro.closed_dates = n ? dates : NULL;
        ro.closed_dates_len = n;
        hy_roster_id id = 0;
        if (code == HY_OK) code = hy_engine_add_roster(e, &ro, &id);
        free(dates);
        *o = with_id(code, id);
    } else if (strcmp(op, "publish_rosters_until") == 0) {
        hy_date until = 0;
        size_t created = 0;
        TRY(get_date(r, a, "until", &until, &code));
        if (code == HY_OK) code = hy_engine_publish_rosters_until(e, until, &created);
        *o = failed(code);
        if (code == HY_OK) {
            o->out = need(cJSON_CreateObject());
            add_u64(o->out, "created", created);
        }
    } else if (strcmp(op, "slot") == 0) {
        uint32_t id;
        hy_slot_info info;
        TRY(get_id32(r, a, "slot", &id));
        code = hy_engine_slot(e, id, &info);
        *o = failed(code);
        if (code == HY_OK) o->out = slot_json(&info);
    } else if (strcmp(op, "suspend_session") == 0) {
        uint32_t res;
        hy_date date = 0;
        uint16_t start, end;
        size_t cancelled = 0;
        TRY(get_id32(r, a, "resource", &res));
        TRY(get_time(r, a, &start, &end));
        TRY(get_date(r, a, "date", &date, &code));
        if (code == HY_OK) code = hy_engine_suspend_session(e, res, date, start, end, &cancelled);
        *o = failed(code);
        if (code == HY_OK) {
            o->out = need(cJSON_CreateObject());
            add_u64(o->out, "cancelled", cancelled);
        }
    } else if (strcmp(op, "find_free_slots") == 0) {
        hy_availability_query q;
        memset(&q, 0, sizeof q);
        double limit = 100;
        TRY(opt_id32(r, a, "department", &q.department));
        TRY(opt_id32(r, a, "resource", &q.resource));
        TRY(opt_id32(r, a, "institution", &q.institution));
        TRY(opt_text(r, a, "specialty", &q.specialty));
        TRY(opt_text(r, a, "district", &q.district));
        q.tier = HY_TIER_ANY;
        const cJSON *tier = cJSON_GetObjectItemCaseSensitive(a, "tier");
        if (tier != NULL && !cJSON_IsNull(tier)) TRY(get_tier(r, a, &q.tier));
        TRY(get_time(r, a, &q.time_start_min, &q.time_end_min));
        TRY(get_flag(r, a, "with_referral", &q.with_referral));
        if (cJSON_GetObjectItemCaseSensitive(a, "limit")) TRY(get_number(r, a, "limit", 1, 10000, &limit));
        q.limit = (uint32_t)limit;
        TRY(get_date(r, a, "date_from", &q.date_from, &code));
        if (code == HY_OK) TRY(get_date(r, a, "date_to", &q.date_to, &code));
        hy_free_slot *found = need(calloc((size_t)limit, sizeof *found));
        size_t written = 0;
        if (code == HY_OK) code = hy_engine_find_free_slots(e, &q, found, (size_t)limit, &written);
        *o = failed(code);
        if (code == HY_OK) {
            o->out = need(cJSON_CreateObject());
            cJSON *slots = need(cJSON_AddArrayToObject(o->out, "slots"));
            for (size_t i = 0; i < written; i++) {
                cJSON *f = need(cJSON_CreateObject());
                add_u64(f, "slot", found[i].slot);
                add_u64(f, "free", found[i].free);
                add_i64(f, "starts_at", found[i].starts_at);
                cJSON_AddItemToArray(slots, f);
            }
        }
        free(found);
    } else if (strcmp(op, "alternatives") == 0) {
        double limit = 10;
        uint32_t department;
        hy_date from = 0, to = 0;
        TRY(get_id32(r, a, "department", &department));
        if (cJSON_GetObjectItemCaseSensitive(a, "limit")) TRY(get_number(r, a, "limit", 1, 1000, &limit));
        TRY(get_date(r, a, "date_from", &from, &code));
        if (code == HY_OK) TRY(get_date(r, a, "date_to", &to, &code));
        hy_alternative *rows = need(calloc((size_t)limit, sizeof *rows));
        size_t written = 0;
        if (code == HY_OK) code = hy_engine_alternatives(e, department, from, to, rows, (size_t)limit, &written);
        *o = failed(code);
        if (code == HY_OK) {
            o->out = need(cJSON_CreateObject());
            cJSON *list = need(cJSON_AddArrayToObject(o->out, "alternatives"));
            for (size_t i = 0; i < written; i++) {
                const hy_alternative *x = &rows[i];
                cJSON *row = need(cJSON_CreateObject());
                add_u64(row, "department", x->department);
                add_u64(row, "institution", x->institution);
                need(cJSON_AddStringToObject(row, "tier", tier_name(x->tier)));
                add_u64(row, "slot", x->earliest.slot);
                add_u64(row, "free", x->earliest.free);
                add_i64(row, "starts_at", x->earliest.starts_at);
                need(cJSON_AddNumberToObject(row, "load", (double)x->load));
                cJSON_AddItemToArray(list, row);
            }
        }
        free(rows);
    } else if (strcmp(op, "recommend") == 0) {
        hy_recommend_query q;
        memset(&q, 0, sizeof q);
        double limit = 10;
        uint64_t referral;
        TRY(opt_text(r, a, "complaint", &q.complaint));
        TRY(opt_text(r, a, "specialty", &q.specialty));
        TRY(get_text(r, a, "district", &q.district));
        TRY(opt_id32(r, a, "patient", &q.patient));
        TRY(opt_id(r, a, "referral", 0, &referral));
        q.referral = referral;
        if (cJSON_GetObjectItemCaseSensitive(a, "limit")) TRY(get_number(r, a, "limit", 1, HY_RECOMMEND_LIMIT_MAX, &limit));
        q.limit = (uint32_t)limit;
        TRY(get_date(r, a, "date_from", &q.date_from, &code));
        if (code == HY_OK) TRY(get_date(r, a, "date_to", &q.date_to, &code));
        hy_recommendation *rows = need(calloc((size_t)limit, sizeof *rows));
        size_t written = 0;
        if (code == HY_OK) code = hy_engine_recommend(e, &q, rows, (size_t)limit, &written);
        *o = failed(code);
        if (code == HY_OK) {
            static const char *reasons[] = {"referral", "community_first", "higher_tier", "urgent", "emergency"};
            o->out = need(cJSON_CreateObject());
            cJSON *list = need(cJSON_AddArrayToObject(o->out, "rows"));
            for (size_t i = 0; i < written; i++) {
                const hy_recommendation *x = &rows[i];
                cJSON *row = need(cJSON_CreateObject());
                add_u64(row, "rank", x->rank);
                add_u64(row, "institution", x->institution);
                add_u64(row, "department", x->department);
                add_u64(row, "resource", x->resource);
                need(cJSON_AddStringToObject(row, "tier", tier_name(x->tier)));
                need(cJSON_AddBoolToObject(row, "same_district", x->same_district));
                add_u64(row, "slot", x->earliest.slot);
                add_u64(row, "free", x->earliest.free);
                add_i64(row, "starts_at", x->earliest.starts_at);
                if (x->expected_wait_s == HY_NONE) need(cJSON_AddNullToObject(row, "expected_wait_s"));
                else add_u64(row, "expected_wait_s", x->expected_wait_s);
                need(cJSON_AddStringToObject(row, "urgency", urgency_name(x->urgency)));
                need(cJSON_AddStringToObject(row, "reason", x->reason < 5 ? reasons[x->reason] : "unknown"));
                cJSON_AddItemToArray(list, row);
            }
        }
        free(rows);
    } else if (strcmp(op, "booking_group") == 0 || strcmp(op, "find_stays") == 0) {
        char *json = NULL;
        size_t len = 0;
        if (strcmp(op, "booking_group") == 0) {
            uint64_t id;
            TRY(get_id(r, a, "booking", &id));
            code = hy_engine_booking_group_json(e, id, &json, &len);
        } else {
            /* The query as the engine reads it: the date as its day number. */
            const char *specialty, *district;
            hy_date night;
            double nights, flex = 0, limit = 10;
            TRY(get_text(r, a, "specialty", &specialty));
            TRY(opt_text(r, a, "district", &district));
            TRY(get_number(r, a, "nights", 0, 65535, &nights));
            if (cJSON_GetObjectItemCaseSensitive(a, "flex_days")) TRY(get_number(r, a, "flex_days", 0, 65535, &flex));
            if (cJSON_GetObjectItemCaseSensitive(a, "limit")) TRY(get_number(r, a, "limit", 0, 4294967295.0, &limit));
            TRY(get_date(r, a, "first_night", &night, &code));
            if (code == HY_OK) {
                cJSON *q = need(cJSON_CreateObject());
                need(cJSON_AddStringToObject(q, "specialty", specialty));
                if (district) need(cJSON_AddStringToObject(q, "district", district));
                need(cJSON_AddNumberToObject(q, "first_night", night));
                need(cJSON_AddNumberToObject(q, "nights", nights));
                need(cJSON_AddNumberToObject(q, "flex_days", flex));
                need(cJSON_AddNumberToObject(q, "limit", limit));
                char *text = need(cJSON_PrintUnformatted(q));
                cJSON_Delete(q);
                code = hy_engine_find_stays_json(e, text, &json, &len);
                cJSON_free(text);
            }
        }
        o->code = code;
        if (code == HY_OK) {
            cJSON *parsed = parse_library_json(json);
            hy_string_free(json);
            if (parsed == NULL) return bad(r, "the library returned text that is not JSON");
            if (strcmp(op, "find_stays") == 0) {
                o->out = need(cJSON_CreateObject());
                cJSON_AddItemToObject(o->out, "offers", parsed);
            } else {
                o->out = parsed;
            }
        }
    } else if (strcmp(op, "set_complaint_table") == 0) {
        const cJSON *table = cJSON_GetObjectItemCaseSensitive(a, "table");
        if (table == NULL) return bad(r, "missing argument table");
        char *text = need(cJSON_PrintUnformatted(table));
        code = hy_engine_set_complaint_table(e, text);
        free(text);
        *o = failed(code);
        if (code == HY_OK) o->out = need(cJSON_CreateObject());
    } else if (strcmp(op, "load_board") == 0) {
        const char *specialty, *district;
        TRY(get_text(r, a, "specialty", &specialty));
        TRY(get_text(r, a, "district", &district));
        /* Grown once on HY_BUFFER_TOO_SMALL, which says how many rows are needed. */
        size_t cap = 16, written = 0;
        hy_board_row *rows = need(calloc(cap, sizeof *rows));
        code = hy_engine_load_board(e, specialty, district, rows, cap, &written);
        if (code == HY_BUFFER_TOO_SMALL) {
            cap = written;
            free(rows);
            rows = need(calloc(cap, sizeof *rows));
            code = hy_engine_load_board(e, specialty, district, rows, cap, &written);
        }
        *o = failed(code);
        if (code == HY_OK) {
            o->out = need(cJSON_CreateObject());
            cJSON *list = need(cJSON_AddArrayToObject(o->out, "rows"));
            for (size_t i = 0; i < written; i++) {
                const hy_board_row *b = &rows[i];
                cJSON *row = need(cJSON_CreateObject());
                add_u64(row, "institution", b->institution);
                add_u64(row, "department", b->department);
                need(cJSON_AddStringToObject(row, "tier", tier_name(b->tier)));
                add_i64(row, "date", b->date);
                need(cJSON_AddStringToObject(row, "half_day", b->half_day == HY_HALF_DAY_AM ? "am" : "pm"));
                add_u64(row, "queue", b->queue);
                need(cJSON_AddNumberToObject(row, "mean_service_interval_s", b->mean_service_interval_s));
                add_u64(row, "expected_wait_s", b->expected_wait_s);
                add_u64(row, "free_today", b->free_today);
                add_u64(row, "free_beds_tonight", b->free_beds_tonight);
                cJSON_AddItemToArray(list, row);
            }
        }
        free(rows);
    } else if (strcmp(op, "hold") == 0 || strcmp(op, "book") == 0 || strcmp(op, "submit") == 0) {
        hy_request req;
        hy_booking b;
        TRY(get_request(r, a, &req, &code));
        if (code != HY_OK) {
            *o = failed(code);
        } else if (strcmp(op, "hold") == 0 && cJSON_GetObjectItemCaseSensitive(a, "ttl_s")) {
            double ttl;
            TRY(get_number(r, a, "ttl_s", 0, UINT32_MAX, &ttl));
            *o = with_booking(hy_engine_hold_for(e, &req, (uint32_t)ttl, &b), &b);
        } else if (strcmp(op, "hold") == 0) {
            *o = with_booking(hy_engine_hold(e, &req, &b), &b);
        } else if (strcmp(op, "book") == 0) {
            *o = with_booking(hy_engine_book(e, &req, &b), &b);
        } else {
            hy_submission s;
            code = hy_engine_submit(e, &req, &s);
            *o = failed(code);
            if (code == HY_OK && s.outcome == HY_SUBMISSION_BOOKED) {
                o->out = booking_json(&s.booking);
                need(cJSON_AddStringToObject(o->out, "outcome", "booked"));
            } else if (code == HY_OK) {
                o->out = need(cJSON_CreateObject());
                need(cJSON_AddStringToObject(o->out, "outcome", "entered"));
                add_u64(o->out, "ticket", s.ticket);
                add_i64(o->out, "draws_at", s.draws_at);
            }
        }
    } else if (strcmp(op, "confirm") == 0 || strcmp(op, "cancel") == 0 || strcmp(op, "check_in") == 0 ||
               strcmp(op, "fulfil") == 0 || strcmp(op, "mark_no_show") == 0 || strcmp(op, "booking") == 0) {
        uint64_t id;
        hy_booking b;
        TRY(get_id(r, a, "booking", &id));
        if (strcmp(op, "confirm") == 0) code = hy_engine_confirm(e, id, &b);
        else if (strcmp(op, "cancel") == 0) code = hy_engine_cancel(e, id, &b);
        else if (strcmp(op, "check_in") == 0) code = hy_engine_check_in(e, id, &b);
        else if (strcmp(op, "fulfil") == 0) code = hy_engine_fulfil(e, id, &b);
        else if (strcmp(op, "mark_no_show") == 0) code = hy_engine_mark_no_show(e, id, &b);
        else code = hy_engine_booking(e, id, &b);
        *o = with_booking(code, &b);
    } else if (strcmp(op, "issue_referral") == 0) {
        hy_referral_request req;
        hy_referral ref;
        const char *urgency;
        double days;
        memset(&req, 0, sizeof req);
        TRY(get_id32(r, a, "patient", &req.patient));
        TRY(get_id32(r, a, "from", &req.from));
        TRY(get_text(r, a, "specialty", &req.specialty));
        TRY(opt_id32(r, a, "institution", &req.institution));
        TRY(get_text(r, a, "urgency", &urgency));
        if (strcmp(urgency, "emergency") == 0) req.urgency = HY_URGENCY_EMERGENCY;
        else if (strcmp(urgency, "urgent") == 0) req.urgency = HY_URGENCY_URGENT;
        else if (strcmp(urgency, "routine") == 0) req.urgency = HY_URGENCY_ROUTINE;
        else return bad(r, "urgency \"%s\"", urgency);
        TRY(get_number(r, a, "valid_days", 0, 65535, &days));
        req.valid_days = (uint16_t)days;
        code = hy_engine_issue_referral(e, &req, &ref);
        *o = failed(code);
        if (code == HY_OK) {
            o->out = need(cJSON_CreateObject());
            add_u64(o->out, "id", ref.id);
            add_u64(o->out, "patient", ref.patient);
            add_u64(o->out, "from", ref.from);
            add_opt_u64(o->out, "institution", ref.institution, HY_NONE);
            need(cJSON_AddStringToObject(o->out, "urgency", urgency_name(ref.urgency)));
            add_i64(o->out, "valid_from", ref.valid_from);
            add_i64(o->out, "valid_until", ref.valid_until);
            add_opt_u64(o->out, "used_by", ref.used_by, 0);
        }
    } else if (strcmp(op, "join_waitlist") == 0) {
        hy_waitlist_request req;
        hy_waitlist_id id = 0;
        memset(&req, 0, sizeof req);
        TRY(get_id32(r, a, "patient", &req.patient));
        TRY(get_id32(r, a, "department", &req.department));
        TRY(opt_id32(r, a, "resource", &req.resource));
        TRY(get_time(r, a, &req.time_start_min, &req.time_end_min));
        TRY(opt_id(r, a, "referral", 0, &req.referral));
        TRY(get_flag(r, a, "follow_up", &req.follow_up));
        TRY(get_channel(r, a, &req.channel, &code));
        if (code == HY_OK) TRY(get_date(r, a, "date_from", &req.date_from, &code));
        if (code == HY_OK) TRY(get_date(r, a, "date_to", &req.date_to, &code));
        if (code == HY_OK) code = hy_engine_join_waitlist(e, &req, &id);
        *o = with_id(code, id);
    } else if (strcmp(op, "execute") == 0) {
        char *command, *json = NULL;
        size_t len = 0;
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(a, "request_key");
        if (key != NULL && !cJSON_IsString(key)) return bad(r, "request_key must be a string");
        TRY(get_body(r, a, "command", &command));
        code = hy_engine_execute_json(e, key ? key->valuestring : NULL, command, &json, &len);
        cJSON_free(command);
        o->code = code;
        if (code == HY_OK) {
            o->out = parse_library_json(json);
            hy_string_free(json);
            if (o->out == NULL) return bad(r, "the library returned text that is not JSON");
        }
    } else if (strcmp(op, "set_policy") == 0) {
        char *text;
        TRY(get_body(r, a, "policy", &text));
        *o = empty(hy_engine_set_policy(e, text, HY_POLICY_JSON));
        cJSON_free(text);
    } else if (strcmp(op, "subscribe") == 0) {
        const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(a, "kinds"), *k;
        if (!cJSON_IsArray(kinds) || cJSON_GetArraySize(kinds) > HY_EVENT_KIND_NAMES_MAX)
            return bad(r, "kinds is an array of at most %d names", (int)HY_EVENT_KIND_NAMES_MAX);
        const char *names[HY_EVENT_KIND_NAMES_MAX];
        size_t n = 0;
        cJSON_ArrayForEach(k, kinds) {
            if (!cJSON_IsString(k)) return bad(r, "kinds: a name");
            names[n++] = k->valuestring;
        }
        double capacity;
        TRY(get_number(r, a, "capacity", 0, 1e12, &capacity));
        hy_subscription *sub = NULL;
        *o = empty(hy_engine_subscribe_kinds(e, (size_t)capacity, HY_OVERFLOW_DISCONNECT, names, n, &sub));
        if (o->code == HY_OK) {
            hy_subscription_free(r->filtered);
            r->filtered = sub;
        }
    } else if (strcmp(op, "poll_events") == 0) {
        if (r->filtered == NULL) return bad(r, "poll_events before a subscribe");
        cJSON *list = need(cJSON_CreateArray());
        /* One thread called the engine: the queue is in seq order already. */
        code = hy_subscription_dispatch(r->filtered, on_filtered_event, list, 0, NULL);
        bool cut = false;
        if (code == HY_OK) code = hy_subscription_is_cut_off(r->filtered, &cut);
        *o = empty(code);
        if (code == HY_OK) {
            cJSON_AddItemToObject(o->out, "events", list);
            need(cJSON_AddBoolToObject(o->out, "cut_off", cut));
        } else {
            cJSON_Delete(list);
        }
    } else if (strcmp(op, "leave_waitlist") == 0) {
        uint64_t id;
        TRY(get_id(r, a, "entry", &id));
        *o = empty(hy_engine_leave_waitlist(e, id));
    } else if (strcmp(op, "fhir_hold") == 0 || strcmp(op, "fhir_book") == 0 || strcmp(op, "fhir_cancel") == 0) {
        char *body, *json = NULL;
        size_t len = 0;
        TRY(get_body(r, a, "request", &body));
        if (strcmp(op, "fhir_hold") == 0) code = hy_engine_fhir_hold(e, body, &json, &len);
        else if (strcmp(op, "fhir_book") == 0) code = hy_engine_fhir_book(e, body, &json, &len);
        else code = hy_engine_fhir_cancel(e, body, &json, &len);
        cJSON_free(body);
        *o = fhir_handed_out(code, json);
    } else if (strcmp(op, "fhir_find") == 0 || strcmp(op, "fhir_export_bundle") == 0) {
        char *body;
        int find = strcmp(op, "fhir_find") == 0;
        TRY(get_body(r, a, find ? "params" : "scope", &body));
        *o = copied_json(r, find ? call_find : call_export_bundle, body);
        cJSON_free(body);
    } else if (strcmp(op, "fhir_export_slot") == 0) {
        hy_slot_id id;
        TRY(get_id32(r, a, "slot", &id));
        *o = copied_json(r, call_export_slot, &id);
    } else if (strcmp(op, "fhir_export_appointment") == 0) {
        hy_booking_id id;
        TRY(get_id(r, a, "booking", &id));
        *o = copied_json(r, call_export_appointment, &id);
    } else {
        return bad(r, "unknown op \"%s\"", op);
    }
    return 0;
}

/* ------------------------------------------------------------------ one operation, one scenario */

static void mismatch(run *r, int i, const char *op, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void mismatch(run *r, int i, const char *op, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "conformance (c): %s op #%d (%s): ", r->name, i, op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    r->mismatches++;
}

static void add_line(run *r, const cJSON *line) {
    char *s = canonical_text(line);
    puts_(&r->out, s);
    put(&r->out, "\n", 1);
    free(s);
}

static int step(run *r, int i, const cJSON *op) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(op, "op");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(op, "args");
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(op, "expect");
    cJSON *no_args = NULL;
    if (!cJSON_IsString(name)) return bad(r, "op #%d: no \"op\" name", i);
    if (!cJSON_IsString(expect)) return bad(r, "op #%d: no \"expect\"", i);
    if (args == NULL) args = no_args = need(cJSON_CreateObject());
    if (!cJSON_IsObject(args)) return bad(r, "op #%d: \"args\" is not an object", i);
    outcome o;
    int rc = call(r, name->valuestring, args, &o);
    cJSON_Delete(no_args);
    if (rc != 0) {
        char why[sizeof r->bad];
        memcpy(why, r->bad, sizeof why);
        return bad(r, "op #%d: %s: %s", i, name->valuestring, why);
    }
    const char *result = result_name(o.code);
    cJSON *line = need(cJSON_CreateObject());
    need(cJSON_AddNumberToObject(line, "i", i));
    need(cJSON_AddStringToObject(line, "op", name->valuestring));
    need(cJSON_AddStringToObject(line, "result", result));
    if (o.out) cJSON_AddItemToObject(line, "out", o.out); /* `line` owns it now */
    add_line(r, line);
    if (strcmp(result, expect->valuestring) != 0) {
        char message[1024] = "";
        size_t written = 0;
        if (o.code != HY_OK && hy_last_error_message(message, sizeof message, &written) != HY_OK) message[0] = '\0';
        mismatch(r, i, name->valuestring, "expected %s, got %s%s%s%s", expect->valuestring, result,
                 message[0] ? " (" : "", message, message[0] ? ")" : "");
        cJSON_Delete(line);
        return 0;
    }
    if (o.code != HY_OK) {
        cJSON_Delete(line);
        return 0;
    }
    const cJSON *check = cJSON_GetObjectItemCaseSensitive(op, "check"), *c;
    if (check != NULL && !cJSON_IsObject(check)) {
        cJSON_Delete(line);
        return bad(r, "op #%d: \"check\" is not an object", i);
    }
    cJSON_ArrayForEach(c, check) {
        cJSON *got = lookup(o.out, c->string);
        char *got_text = got ? canonical_text(got) : need(strdup("(absent)"));
        cJSON *want = resolved(r, c);
        if (want == NULL) {
            free(got_text);
            cJSON_Delete(line);
            return -1;
        }
        char *want_text = canonical_text(want);
        cJSON_Delete(want);
        if (strcmp(got_text, want_text) != 0)
            mismatch(r, i, name->valuestring, "%s: expected %s, got %s", c->string, want_text, got_text);
        free(got_text);
        free(want_text);
    }
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(op, "as");
    rc = 0;
    if (cJSON_IsString(as)) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o.out, "id");
        rc = id ? bind(r, as->valuestring, id) : bad(r, "op #%d: \"as\" on a call without an id", i);
    } else if (cJSON_IsObject(as)) {
        cJSON_ArrayForEach(c, as) {
            const cJSON *v = cJSON_IsString(c) ? lookup(o.out, c->valuestring) : NULL;
            rc = v ? bind(r, c->string, v) : bad(r, "op #%d: no %s to bind", i, cJSON_IsString(c) ? c->valuestring : "?");
            if (rc) break;
        }
    } else if (as != NULL) {
        rc = bad(r, "op #%d: \"as\" is a name or an object of names", i);
    }
    cJSON_Delete(line);
    return rc;
}

/* One event from hy_subscription_dispatch, kept as a canonical line. */
static int32_t on_event(void *userdata, uint64_t seq, const char *json, size_t json_len) {
    run *r = userdata;
    (void)json_len;
    cJSON *event = parse_library_json(json);
    if (event == NULL) {
        fprintf(stderr, "conformance (c): event %" PRIu64 " is not JSON\n", seq);
        exit(2);
    }
    cJSON *kind = cJSON_DetachItemFromObjectCaseSensitive(event, "kind");
    cJSON *type = kind ? cJSON_DetachItemFromObjectCaseSensitive(kind, "type") : NULL;
    cJSON *line = need(cJSON_CreateObject());
    add_u64(line, "seq", seq);
    cJSON *at = cJSON_DetachItemFromObjectCaseSensitive(event, "at");
    cJSON_AddItemToObject(line, "at", at ? at : need(cJSON_CreateNull()));
    cJSON_AddItemToObject(line, "event", type ? type : need(cJSON_CreateNull()));
    cJSON_AddItemToObject(line, "data", kind ? kind : need(cJSON_CreateObject()));
    if (r->events_len == r->events_cap) {
        r->events_cap = r->events_cap ? 2 * r->events_cap : 64;
        r->events_out = need(realloc(r->events_out, r->events_cap * sizeof *r->events_out));
    }
    r->events_out[r->events_len].seq = seq;
    r->events_out[r->events_len].line = canonical_text(line);
    r->events_len++;
    cJSON_Delete(line);
    cJSON_Delete(event);
    return 0;
}

static int by_seq(const void *a, const void *b) {
    uint64_t x = ((const event_line *)a)->seq, y = ((const event_line *)b)->seq;
    return (x > y) - (x < y);
}

/* Play one scenario: 0, or -1 with r->bad for a malformed one. */
static int play(run *r, const cJSON *scenario) {
    const cJSON *offset = cJSON_GetObjectItemCaseSensitive(scenario, "utc_offset_s");
    r->utc_offset_s = 8 * 3600;
    if (offset != NULL) {
        if (!cJSON_IsNumber(offset) || fabs(offset->valuedouble) > 1e9) return bad(r, "bad utc_offset_s");
        r->utc_offset_s = (int32_t)offset->valuedouble;
    }
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(scenario, "card_key");
    unsetenv("HAOYUAN_CARD_KEY_FILE");
    setenv("HAOYUAN_CARD_KEY", cJSON_IsString(key) ? key->valuestring : CARD_KEY_DEFAULT, 1);
    const cJSON *clock = cJSON_GetObjectItemCaseSensitive(scenario, "clock");
    if (!cJSON_IsObject(clock)) return bad(r, "no \"clock\" object");
    hy_timestamp start = 0;
    hy_result code = HY_OK;
    TRY(get_instant(r, clock, &start, &code));
    if (code != HY_OK) return bad(r, "clock: %s", result_name(code));
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(scenario, "policy");
    char *policy_text = policy && !cJSON_IsNull(policy) ? need(cJSON_PrintUnformatted(policy)) : NULL;
    code = hy_engine_with_manual_clock(policy_text, HY_POLICY_JSON, r->utc_offset_s, start, &r->engine);
    cJSON_free(policy_text);
    if (code != HY_OK) return bad(r, "engine: %s", result_name(code));
    code = hy_engine_subscribe(r->engine, &r->events);
    if (code != HY_OK) return bad(r, "events: %s", result_name(code));
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(scenario, "ops"), *op;
    if (!cJSON_IsArray(ops)) return bad(r, "no \"ops\" array");
    int i = 0;
    cJSON_ArrayForEach(op, ops) TRY(step(r, i++, op));
    code = hy_subscription_dispatch(r->events, on_event, r, 0, NULL);
    if (code != HY_OK) return bad(r, "events: %s", result_name(code));
    qsort(r->events_out, r->events_len, sizeof *r->events_out, by_seq);
    for (size_t k = 0; k < r->events_len; k++) {
        puts_(&r->out, r->events_out[k].line);
        put(&r->out, "\n", 1);
    }
    return 0;
}

static void run_free(run *r) {
    hy_subscription_free(r->events);
    hy_subscription_free(r->filtered);
    hy_engine_free(r->engine);
    for (size_t i = 0; i < r->names_len; i++) {
        free(r->names[i].name);
        cJSON_Delete(r->names[i].value);
    }
    for (size_t i = 0; i < r->events_len; i++) free(r->events_out[i].line);
    free(r->events_out);
    free(r->out.p);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    text t = {0};
    put(&t, "", 0);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) put(&t, buf, n);
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(t.p);
        return NULL;
    }
    return t.p;
}

/* Play one scenario file; returns the number of failed expectations, or -1 if malformed. */
static int play_file(const char *path, const char *out_dir) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char name[256];
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0) n -= 5;
    if (n == 0 || n >= sizeof name) {
        fprintf(stderr, "conformance (c): %s: bad file name\n", path);
        return -1;
    }
    memcpy(name, base, n);
    name[n] = '\0';
    char *json = read_file(path);
    if (json == NULL) {
        fprintf(stderr, "conformance (c): %s: cannot read: %s\n", path, strerror(errno));
        return -1;
    }
    cJSON *scenario = cJSON_Parse(json);
    free(json);
    if (scenario == NULL) {
        fprintf(stderr, "conformance (c): %s: malformed scenario: not JSON\n", path);
        return -1;
    }
    run *r = need(calloc(1, sizeof *r));
    r->name = name;
    int rc = play(r, scenario);
    cJSON_Delete(scenario);
    if (rc != 0) {
        fprintf(stderr, "conformance (c): %s: malformed scenario: %s\n", path, r->bad);
    } else {
        char out_path[4096];
        snprintf(out_path, sizeof out_path, "%s/%s.jsonl", out_dir, name);
        FILE *f = fopen(out_path, "wb");
        if (f == NULL || fwrite(r->out.p ? r->out.p : "", 1, r->out.len, f) != r->out.len) {
            fprintf(stderr, "conformance (c): cannot write %s\n", out_path);
            rc = -1;
        }
        if (f != NULL && fclose(f) != 0) rc = -1;
        if (rc == 0) rc = r->mismatches;
    }
    run_free(r);
    free(r);
    return rc;
}

int main(int argc, char **argv) {
    const char *out_dir = "target/conformance/c";
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--out") == 0) {
        out_dir = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: runner [--out DIR] SCENARIO.json...\n");
        return 2;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "conformance (c): cannot create %s: %s\n", out_dir, strerror(errno));
        return 2;
    }
    int mismatches = 0;
    for (int i = first; i < argc; i++) {
        int rc = play_file(argv[i], out_dir);
        if (rc < 0) return 2;
        mismatches += rc;
    }
    if (mismatches > 0) {
        fprintf(stderr, "conformance (c): %d expectation(s) failed\n", mismatches);
        return 1;
    }
    printf("conformance (c): %d scenario(s) as expected\n", argc - first);
    return 0;
}
