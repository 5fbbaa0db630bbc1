/* Events through C: polling JSON lines into a buffer (including one too small for the next
 * event), and the callback form. */
#include "test_common.h"

static hy_booking book_one(region *r, hy_slot_id slot) {
    hy_patient_id p;
    hy_booking b;
    memset(&b, 0, sizeof b);
    if (hy_engine_register_patient(r->engine, &p) != HY_OK) return b;
    hy_request q = request_for(p, slot, r->app);
    hy_engine_book(r->engine, &q, &b);
    return b;
}

static void test_poll_json_lines(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_subscription *ev;
    CHECK_OK(hy_engine_subscribe(r.engine, &ev));
    char buf[4096];
    size_t n = 0, count = 7;
    CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
    CHECK(count == 0 && n == 0 && buf[0] == 0); /* only events after subscribing */
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_booking b = book_one(&r, slot);
    CHECK(b.state == HY_BOOKING_BOOKED);
    hy_booking c;
    CHECK_OK(hy_engine_cancel(r.engine, b.id, &c));
    CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
    /* slots_published, patient_registered, booked, cancelled */
    CHECK(count == 4 && n == strlen(buf));
    const char *types[] = {"slots_published", "patient_registered", "booked", "cancelled"};
    const char *line = buf;
    unsigned long long last_seq = 0;
    for (int i = 0; i < 4; i++) {
        const char *nl = strchr(line, '\n');
        CHECK(nl != NULL);
        char want[64];
        snprintf(want, sizeof want, "\"type\":\"%s\"", types[i]);
        const char *hit = strstr(line, want);
        CHECK(hit != NULL && hit < nl);
        unsigned long long seq = 0;
        CHECK(sscanf(line, "{\"seq\":%llu", &seq) == 1 && seq > last_seq);
        last_seq = seq;
        line = nl + 1;
    }
    CHECK(*line == 0);
    CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
    CHECK(count == 0);
    hy_subscription_free(ev);
    hy_engine_free(r.engine);
}

static void test_poll_buffer_too_small_keeps_the_event(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_subscription *ev;
    CHECK_OK(hy_engine_subscribe(r.engine, &ev));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    char small[8];
    size_t need = 0, count = 99;
    CHECK_RC(hy_subscription_poll(ev, small, sizeof small, &need, &count), HY_BUFFER_TOO_SMALL);
    CHECK(need > sizeof small && count == 99);
    /* Exactly the size asked for takes that event, and only it. */
    char *buf = malloc(need);
    size_t n = 0;
    hy_result rc = hy_subscription_poll(ev, buf, need, &n, &count);
    int ok = rc == HY_OK && count == 1 && n + 1 == need && strstr(buf, "\"patient_registered\"") != NULL;
    free(buf);
    CHECK(ok);
    /* The second event is still there. */
    char big[1024];
    CHECK_OK(hy_subscription_poll(ev, big, sizeof big, &n, &count));
    CHECK(count == 1);
    CHECK_RC(hy_subscription_poll(NULL, big, sizeof big, &n, &count), HY_NULL_PARAMETER);
    CHECK_RC(hy_subscription_poll(ev, NULL, 10, &n, &count), HY_NULL_PARAMETER);
    hy_subscription_free(ev);
    hy_engine_free(r.engine);
}

typedef struct {
    int calls;
    int stop_after;
    unsigned long long seqs[16];
    char types[16][32];
} collector;

static int collect(void *userdata, uint64_t seq, const char *json, size_t json_len) {
    collector *c = userdata;
    if (strlen(json) != json_len) return 1;
    if (c->calls < 16) {
        c->seqs[c->calls] = seq;
        const char *t = strstr(json, "\"type\":\"");
        if (t) sscanf(t + 8, "%31[a-z_]", c->types[c->calls]);
    }
    c->calls++;
    return c->stop_after > 0 && c->calls >= c->stop_after;
}

static void test_dispatch_callback(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_subscription *ev;
    CHECK_OK(hy_engine_subscribe(r.engine, &ev));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_booking b = book_one(&r, slot);
    CHECK(b.state == HY_BOOKING_BOOKED);
    collector c;
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    size_t delivered = 0;
    CHECK_OK(hy_subscription_dispatch(ev, collect, &c, 0, &delivered));
    CHECK(delivered == 2 && c.calls == 2);
    CHECK(strcmp(c.types[0], "slots_published") == 0 && strcmp(c.types[1], "patient_registered") == 0);
    CHECK(c.seqs[1] == c.seqs[0] + 1);
    c.stop_after = 0;
    CHECK_OK(hy_subscription_dispatch(ev, collect, &c, 0, &delivered));
    CHECK(delivered == 1 && strcmp(c.types[2], "booked") == 0);
    CHECK_OK(hy_subscription_dispatch(ev, collect, &c, 0, NULL));
    CHECK(c.calls == 3);
    CHECK_RC(hy_subscription_dispatch(ev, NULL, &c, 0, &delivered), HY_NULL_PARAMETER);
    hy_subscription_free(ev);
    hy_engine_free(r.engine);
}

static void test_events_outlive_the_engine(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_subscription *ev;
    CHECK_OK(hy_engine_subscribe(r.engine, &ev));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_engine_free(r.engine);
    char buf[512];
    size_t n, count;
    CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
    CHECK(count == 1);
    CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
    CHECK(count == 0);
    hy_subscription_free(ev);
}

/* A subscriber that does not read holds a bounded queue; with HY_OVERFLOW_DISCONNECT it is cut
 * off and the events it kept are the first ones, gap-free. */
static void test_full_queue_disconnects(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_subscription *ev;
    CHECK_RC(hy_engine_subscribe_with(r.engine, 0, HY_OVERFLOW_DISCONNECT, &ev), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_subscribe_with(r.engine, 4, 7, &ev), HY_INVALID_ARGUMENT);
    CHECK_OK(hy_engine_subscribe_with(r.engine, 4, HY_OVERFLOW_DISCONNECT, &ev));
    bool cut = true;
    CHECK_OK(hy_subscription_is_cut_off(ev, &cut));
    CHECK(!cut);
    for (int i = 0; i < 10; i++) {
        hy_patient_id p;
        CHECK_OK(hy_engine_register_patient(r.engine, &p)); /* the engine never waits */
    }
    CHECK_OK(hy_subscription_is_cut_off(ev, &cut));
    CHECK(cut);
    char buf[4096];
    size_t n = 0, count = 0;
    CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
    CHECK(count == 4);
    CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
    CHECK(count == 0);
    hy_subscription_free(ev);
    hy_engine_free(r.engine);
}

/* HY_OVERFLOW_BLOCK: nothing is lost; a full queue only holds the next event back until the
 * reader made room (here the same thread reads between calls, so no call ever waits). */
static void test_block_policy_keeps_every_event(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_subscription *ev;
    CHECK_OK(hy_engine_subscribe_with(r.engine, 2, HY_OVERFLOW_BLOCK, &ev));
    char buf[4096];
    size_t n = 0, count = 0, total = 0;
    for (int i = 0; i < 10; i++) {
        hy_patient_id p;
        CHECK_OK(hy_engine_register_patient(r.engine, &p));
        CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
        total += count;
    }
    CHECK(total == 10);
    bool cut = true;
    CHECK_OK(hy_subscription_is_cut_off(ev, &cut));
    CHECK(!cut);
    hy_subscription_free(ev);
    hy_engine_free(r.engine);
}

/* A subscription to some types only: the others take no room in its queue (capacity 2, and
 * ten registrations before the two cancellations it asked for) and show as gaps in seq; bad
 * names subscribe nothing. */
static void test_subscribe_kinds(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_subscription *ev = NULL;
    const char *bad[] = {"cancelled", "canceled"};
    CHECK_RC(hy_engine_subscribe_kinds(r.engine, 2, HY_OVERFLOW_DISCONNECT, bad, 2, &ev), HY_INVALID_ARGUMENT);
    CHECK(ev == NULL && strstr(last_error(), "\"canceled\"") != NULL);
    CHECK_RC(hy_engine_subscribe_kinds(r.engine, 2, HY_OVERFLOW_DISCONNECT, NULL, 0, &ev), HY_INVALID_ARGUMENT);
    const char *null_name[] = {"cancelled", NULL};
    CHECK_RC(hy_engine_subscribe_kinds(r.engine, 2, HY_OVERFLOW_DISCONNECT, null_name, 2, &ev), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_subscribe_kinds(r.engine, 2, HY_OVERFLOW_DISCONNECT, bad, HY_EVENT_KIND_NAMES_MAX + 1, &ev), HY_INVALID_ARGUMENT);
    CHECK(ev == NULL);
    const char *kinds[] = {"cancelled", "cancelled"};
    CHECK_OK(hy_engine_subscribe_kinds(r.engine, 2, HY_OVERFLOW_DISCONNECT, kinds, 2, &ev));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_booking b1 = book_one(&r, slot), b2 = book_one(&r, slot), c;
    CHECK(b1.state == HY_BOOKING_BOOKED && b2.state == HY_BOOKING_BOOKED);
    for (int i = 0; i < 10; i++) {
        hy_patient_id p;
        CHECK_OK(hy_engine_register_patient(r.engine, &p));
    }
    CHECK_OK(hy_engine_cancel(r.engine, b1.id, &c));
    CHECK_OK(hy_engine_cancel(r.engine, b2.id, &c));
    bool cut = true;
    CHECK_OK(hy_subscription_is_cut_off(ev, &cut));
    CHECK(!cut);
    char buf[4096];
    size_t n = 0, count = 0;
    CHECK_OK(hy_subscription_poll(ev, buf, sizeof buf, &n, &count));
    CHECK(count == 2);
    const char *second = strchr(buf, '\n') + 1;
    unsigned long long s1 = 0, s2 = 0;
    CHECK(sscanf(buf, "{\"seq\":%llu", &s1) == 1 && sscanf(second, "{\"seq\":%llu", &s2) == 1);
    CHECK(s2 == s1 + 1 && strstr(buf, "\"type\":\"cancelled\"") != NULL);
    CHECK(strstr(second, "\"type\":\"cancelled\"") != NULL);
    CHECK(strstr(buf, "booked") == NULL && strstr(buf, "patient_registered") == NULL);
    hy_subscription_free(ev);
    hy_engine_free(r.engine);
}

TEST_MAIN_BEGIN
    RUN(test_subscribe_kinds);
    RUN(test_poll_json_lines);
    RUN(test_full_queue_disconnects);
    RUN(test_block_policy_keeps_every_event);
    RUN(test_poll_buffer_too_small_keeps_the_event);
    RUN(test_dispatch_callback);
    RUN(test_events_outlive_the_engine);
TEST_MAIN_END
