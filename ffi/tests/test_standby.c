/* The hot standby through C: a read-only follower of a durable engine's directory catches up,
 * reports its lag, refuses promotion while the leader holds the LOCK and becomes a hy_engine
 * once the leader is gone; misuse is an error code. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "test_common.h"

static const char *CARD_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void remove_dir(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

typedef struct {
    hy_slot_id slot;
    hy_patient_id patient;
    hy_channel_id app;
} leader_world;

static int start_of(hy_date *day, hy_timestamp *start) {
    if (hy_date_from_ymd(2026, 11, 23, day) != HY_OK) return 0;
    return hy_timestamp_from_local(*day, 16 * 60, OFFSET_S, start) == HY_OK;
}

/* One bed pool slot and one patient. */
static int build_world(hy_engine **e, hy_date day, leader_world *w) {
    hy_institution_id inst;
    hy_department_id dep;
    hy_resource_id res;
    if (hy_engine_add_institution(*e, "Xiamen Maternity", HY_TIER_TERTIARY, "Siming", &inst) != HY_OK) return 0;
    if (hy_engine_add_department(*e, inst, "obstetrics", "Obstetrics", &dep) != HY_OK) return 0;
    if (hy_engine_add_resource(*e, dep, HY_RESOURCE_BED, "Delivery beds", false, &res) != HY_OK) return 0;
    if (hy_engine_channel_id(*e, "app", &w->app) != HY_OK) return 0;
    hy_slot_spec spec = {res, day + 2, 0, 1440, 8};
    if (hy_engine_publish_slots(*e, &spec, 1, &w->slot) != HY_OK) return 0;
    return hy_engine_register_patient(*e, &w->patient) == HY_OK;
}

/* A leader with one bed pool slot and one patient, on a manual clock. */
static int open_leader(const char *dir, hy_engine **e, leader_world *w) {
    hy_date day;
    hy_timestamp start;
    if (!start_of(&day, &start)) return 0;
    if (hy_engine_open_with_manual_clock(dir, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, start, e) != HY_OK) return 0;
    return build_world(e, day, w);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* A standby on "another machine": it receives the leader's journal over TCP into its own
 * directory. In HY_REPLICATION_ACK_AFTER_FOLLOWER a booking returns only once the follower
 * holds it; the leader gone, the standby is promoted with it. */
static void test_stream_follow_then_promote(void) {
    char dir[] = "/tmp/hy-ffi-ship-leader-XXXXXX";
    char own[] = "/tmp/hy-ffi-ship-follower-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && mkdtemp(own) != NULL);
    CHECK(setenv("HAOYUAN_CARD_KEY", CARD_KEY, 1) == 0);
    hy_date day;
    hy_timestamp start;
    CHECK(start_of(&day, &start));
    hy_engine *leader = NULL;
    CHECK_OK(hy_engine_open_replicating(dir, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &start, "127.0.0.1:0", HY_REPLICATION_ACK_AFTER_FOLLOWER, 20000, &leader));
    char addr[64];
    size_t n = 0;
    CHECK_OK(hy_engine_replication_addr(leader, addr, sizeof addr, &n));
    CHECK(n == strlen(addr) && strncmp(addr, "127.0.0.1:", 10) == 0);
    CHECK_RC(hy_engine_replication_addr(leader, addr, 4, &n), HY_BUFFER_TOO_SMALL);
    uint32_t followers = 9;
    CHECK_OK(hy_engine_followers(leader, &followers));
    CHECK(followers == 0);
    hy_standby *s = NULL;
    CHECK_OK(hy_standby_connect(addr, own, &s));
    bool streaming = false;
    CHECK_OK(hy_standby_streaming(s, &streaming));
    CHECK(streaming);
    for (int i = 0; i < 5000 && followers == 0; i++) {
        sleep_ms(1);
        CHECK_OK(hy_engine_followers(leader, &followers));
    }
    CHECK(followers == 1);
    leader_world w;
    CHECK(build_world(&leader, day, &w));
    hy_request q = request_for(w.patient, w.slot, w.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(leader, &q, &b));
    uint64_t target = 0, seq = 0;
    CHECK_OK(hy_engine_flush(leader, &target));
    for (int i = 0; i < 10000 && seq < target; i++) {
        sleep_ms(1);
        CHECK_OK(hy_standby_last_event_seq(s, &seq));
    }
    CHECK(seq == target);
    hy_booking seen;
    CHECK_OK(hy_standby_booking(s, b.id, &seen));
    CHECK(seen.state == HY_BOOKING_BOOKED && seen.slot == w.slot);
    /* The leader's metrics: its follower, and nothing it holds that the follower does not. */
    static char metrics[16384];
    CHECK_OK(hy_engine_metrics_json(leader, metrics, sizeof metrics, &n));
    CHECK(strstr(metrics, "\"replication\":{\"mode\":\"ack_after_follower\",\"followers\":1,") != NULL);
    CHECK(strstr(metrics, "\"unreplicated_events\":0,\"ack_timeouts\":0}") != NULL);

    /* The leader goes away: the stream stops, and the standby becomes the leader. */
    hy_engine_free(leader);
    for (int i = 0; i < 10000 && streaming; i++) {
        sleep_ms(1);
        CHECK_OK(hy_standby_streaming(s, &streaming));
    }
    CHECK(!streaming);
    hy_engine *promoted = NULL;
    CHECK_OK(hy_standby_promote(s, HY_JOURNAL_SYNC, 0, &promoted));
    CHECK_OK(hy_engine_booking(promoted, b.id, &seen));
    CHECK(seen.state == HY_BOOKING_BOOKED);
    hy_standby_free(s);
    hy_engine_free(promoted);
    remove_dir(dir);
    remove_dir(own);
}

/* Bad replication arguments are typed errors that create nothing; without a follower an
 * HY_REPLICATION_ACK_AFTER_FOLLOWER operation fails after its timeout, unacknowledged. */
static void test_replication_misuse(void) {
    CHECK(setenv("HAOYUAN_CARD_KEY", CARD_KEY, 1) == 0);
    hy_date day;
    hy_timestamp start;
    CHECK(start_of(&day, &start));
    const char *never = "/tmp/hy-ffi-ship-never-created";
    remove_dir(never);
    hy_engine *e = NULL;
    CHECK_RC(hy_engine_open_replicating(never, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &start, "nonsense", HY_REPLICATION_ASYNC, 1000, &e), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "host:port") != NULL);
    CHECK_RC(hy_engine_open_replicating(never, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &start, "127.0.0.1:0", 7, 1000, &e), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_open_replicating(never, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &start, "127.0.0.1:0", HY_REPLICATION_ASYNC, 0, &e), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_open_replicating(never, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_NONE, 0, &start, "127.0.0.1:0", HY_REPLICATION_ASYNC, 1000, &e), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_open_replicating(never, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &start, NULL, HY_REPLICATION_ASYNC, 1000, &e), HY_NULL_PARAMETER);
    CHECK(e == NULL);
    CHECK(access(never, F_OK) != 0);
    hy_standby *s = NULL;
    CHECK_RC(hy_standby_connect("nonsense", "/tmp/hy-ffi-ship-x", &s), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_standby_connect(NULL, "/tmp/hy-ffi-ship-x", &s), HY_NULL_PARAMETER);
    CHECK_RC(hy_standby_connect("127.0.0.1:1", "", &s), HY_INVALID_ARGUMENT);
    CHECK(s == NULL);

    char dir[] = "/tmp/hy-ffi-ship-lonely-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK_OK(hy_engine_open_replicating(dir, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &start, "127.0.0.1:0", HY_REPLICATION_ACK_AFTER_FOLLOWER, 50, &e));
    hy_patient_id p;
    CHECK_RC(hy_engine_register_patient(e, &p), HY_DURABILITY);
    CHECK(strstr(last_error(), "no follower acknowledged") != NULL);
    /* No listener there: connecting is HY_DURABILITY. */
    char own[] = "/tmp/hy-ffi-ship-orphan-XXXXXX";
    CHECK(mkdtemp(own) != NULL);
    CHECK_RC(hy_standby_connect("127.0.0.1:1", own, &s), HY_DURABILITY);
    hy_engine_free(e);
    hy_engine *plain = NULL;
    CHECK(open_leader(own, &plain, &(leader_world){0}));
    char addr[64];
    size_t n = 0;
    CHECK_RC(hy_engine_replication_addr(plain, addr, sizeof addr, &n), HY_INVALID_ARGUMENT);
    uint32_t followers = 9;
    CHECK_OK(hy_engine_followers(plain, &followers));
    CHECK(followers == 0);
    hy_engine_free(plain);
    remove_dir(dir);
    remove_dir(own);
}

static void test_follow_then_promote(void) {
    char dir[] = "/tmp/hy-ffi-standby-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(setenv("HAOYUAN_CARD_KEY", CARD_KEY, 1) == 0);
    hy_engine *leader = NULL;
    leader_world w;
    CHECK(open_leader(dir, &leader, &w));
    hy_standby *s = NULL;
    CHECK_OK(hy_standby_open(dir, 0, &s));
    hy_request q = request_for(w.patient, w.slot, w.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(leader, &q, &b));
    uint64_t applied = 0, seq = 0, leader_seq = 0;
    CHECK_OK(hy_standby_catch_up(s, &applied));
    CHECK(applied > 0);
    CHECK_OK(hy_engine_flush(leader, &leader_seq));
    CHECK_OK(hy_standby_last_event_seq(s, &seq));
    CHECK(seq == leader_seq);
    hy_booking seen;
    CHECK_OK(hy_standby_booking(s, b.id, &seen));
    CHECK(seen.state == HY_BOOKING_BOOKED && seen.slot == w.slot);
    char lag[512];
    size_t n = 0;
    CHECK_OK(hy_standby_lag_json(s, lag, sizeof lag, &n));
    CHECK(strstr(lag, "\"records_behind\":0") != NULL);
    CHECK_RC(hy_standby_lag_json(s, lag, 4, &n), HY_BUFFER_TOO_SMALL);
    /* Operator metrics with the follower section, as JSON and as Prometheus text. */
    static char metrics[16384];
    CHECK_OK(hy_standby_metrics_json(s, metrics, sizeof metrics, &n));
    CHECK(strstr(metrics, "\"follower\":{") != NULL && strstr(metrics, "\"records_behind\":0") != NULL);
    CHECK_OK(hy_standby_metrics_prometheus(s, metrics, sizeof metrics, &n));
    CHECK(n == strlen(metrics) && strstr(metrics, "\nhaoyuan_follower_records_behind 0\n") != NULL);
    CHECK_RC(hy_standby_metrics_prometheus(s, metrics, 4, &n), HY_BUFFER_TOO_SMALL);
    CHECK_RC(hy_standby_metrics_json(NULL, metrics, sizeof metrics, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_standby_metrics_json(s, metrics, sizeof metrics, NULL), HY_NULL_PARAMETER);

    /* The leader holds the LOCK: promotion is refused and the standby goes on. */
    bool alive = false;
    CHECK_OK(hy_standby_leader_alive(s, &alive));
    CHECK(alive);
    hy_engine *promoted = NULL;
    CHECK_RC(hy_standby_promote(s, HY_JOURNAL_SYNC, 0, &promoted), HY_DURABILITY);
    CHECK(promoted == NULL);
    CHECK_OK(hy_engine_cancel(leader, b.id, &b));
    CHECK_OK(hy_standby_catch_up(s, NULL));
    CHECK_OK(hy_standby_booking(s, b.id, &seen));
    CHECK(seen.state == HY_BOOKING_CANCELLED);

    /* The leader is gone: the standby becomes the leader. */
    hy_engine_free(leader);
    CHECK_OK(hy_standby_leader_alive(s, &alive));
    CHECK(!alive);
    CHECK_OK(hy_standby_promote(s, HY_JOURNAL_SYNC, 0, &promoted));
    CHECK(promoted != NULL);
    CHECK_OK(hy_engine_booking(promoted, b.id, &seen));
    CHECK(seen.state == HY_BOOKING_CANCELLED);
    /* The leader now (on the system clock): it journals. */
    hy_patient_id p2;
    CHECK_OK(hy_engine_register_patient(promoted, &p2));
    CHECK(p2 == w.patient + 1);
    /* The promoted handle is closed; it is still freed. */
    CHECK_RC(hy_standby_catch_up(s, NULL), HY_DURABILITY);
    hy_standby_free(s);
    hy_engine_free(promoted);
    remove_dir(dir);
}

static void test_background_polling(void) {
    char dir[] = "/tmp/hy-ffi-standby-poll-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(setenv("HAOYUAN_CARD_KEY", CARD_KEY, 1) == 0);
    hy_engine *leader = NULL;
    leader_world w;
    CHECK(open_leader(dir, &leader, &w));
    hy_standby *s = NULL;
    CHECK_OK(hy_standby_open(dir, 2, &s));
    hy_request q = request_for(w.patient, w.slot, w.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(leader, &q, &b));
    uint64_t target = 0, seq = 0;
    CHECK_OK(hy_engine_flush(leader, &target));
    for (int i = 0; i < 5000 && seq < target; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        CHECK_OK(hy_standby_last_event_seq(s, &seq));
    }
    CHECK(seq == target);
    hy_standby_free(s);
    hy_engine_free(leader);
    remove_dir(dir);
}

static void test_standby_misuse(void) {
    hy_standby *s = NULL;
    CHECK(setenv("HAOYUAN_CARD_KEY", CARD_KEY, 1) == 0);
    CHECK_RC(hy_standby_open(NULL, 0, &s), HY_NULL_PARAMETER);
    CHECK_RC(hy_standby_open("/tmp/hy-ffi-no-such-standby-dir", 0, &s), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_standby_open("", 0, &s), HY_INVALID_ARGUMENT);
    char plain[] = "/tmp/hy-ffi-standby-plain-XXXXXX";
    CHECK(mkdtemp(plain) != NULL);
    CHECK_RC(hy_standby_open(plain, 0, &s), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "not a durable directory") != NULL);
    remove_dir(plain);
    char dir[] = "/tmp/hy-ffi-standby-bad-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    hy_engine *leader = NULL;
    leader_world w;
    CHECK(open_leader(dir, &leader, &w));
    CHECK_RC(hy_standby_open(dir, 600001, &s), HY_INVALID_ARGUMENT);
    CHECK(s == NULL);
    CHECK_RC(hy_standby_open(dir, 0, NULL), HY_NULL_PARAMETER);
    CHECK_OK(hy_standby_open(dir, 0, &s));
    CHECK_RC(hy_standby_catch_up(NULL, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_standby_last_event_seq(s, NULL), HY_NULL_PARAMETER);
    hy_engine *promoted = NULL;
    CHECK_RC(hy_standby_promote(s, 9, 0, &promoted), HY_INVALID_ARGUMENT);
    hy_standby_free(s);
    hy_standby_free(NULL);
    hy_engine_free(leader);
    remove_dir(dir);
}

TEST_MAIN_BEGIN
RUN(test_follow_then_promote);
RUN(test_background_polling);
RUN(test_standby_misuse);
RUN(test_stream_follow_then_promote);
RUN(test_replication_misuse);
TEST_MAIN_END
