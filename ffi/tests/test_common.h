/* Shared helpers for the C tests: a CHECK macro that reports the file, line and the library's
 * last error message, a test runner, and a small region (one tertiary hospital with a
 * cardiology clinic, one community clinic in the same district) on a manual clock. */
#ifndef HY_TEST_COMMON_H
#define HY_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haoyuan.h"

static int hy_test_failures = 0;

static inline const char *last_error(void) {
    static __thread char buf[1024];
    size_t n = 0;
    if (hy_last_error_message(buf, sizeof buf, &n) != HY_OK) return "(no message)";
    return buf;
}

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "  FAIL %s:%d: %s\n    last error: %s\n", __FILE__, __LINE__, \
                    #cond, last_error());                                                  \
            hy_test_failures++;                                                            \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* A call that must return `expected`. */
#define CHECK_RC(call, expected)                                                           \
    do {                                                                                   \
        hy_result rc_ = (call);                                                            \
        if (rc_ != (expected)) {                                                           \
            fprintf(stderr, "  FAIL %s:%d: %s returned %u, expected %u (%s)\n"             \
                            "    last error: %s\n",                                        \
                    __FILE__, __LINE__, #call, (unsigned)rc_, (unsigned)(expected),        \
                    #expected, last_error());                                              \
            hy_test_failures++;                                                            \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, HY_OK)

#define RUN(test)                                                         \
    do {                                                                  \
        int before_ = hy_test_failures;                                   \
        test();                                                           \
        printf("%s %s\n", hy_test_failures == before_ ? "ok  " : "FAIL", #test); \
        if (hy_test_failures == before_) passed_++; else failed_++;       \
    } while (0)

#define TEST_MAIN_BEGIN int main(void) { int passed_ = 0, failed_ = 0;
#define TEST_MAIN_END                                               \
    printf("%d passed, %d failed\n", passed_, failed_);              \
    return failed_ == 0 ? 0 : 1; }

/* China: UTC+8. */
#define OFFSET_S (8 * 3600)

/* A small region on a manual clock at 16:00 on 2026-11-23. The visit day is 2026-11-25: its
 * public release (7 days ahead, 15:00) has passed, and free cancellation lasts until 15:00 on
 * the 24th. */
typedef struct {
    hy_engine *engine;
    hy_date today, visit_day;
    hy_institution_id hospital, clinic;
    hy_department_id cardiology, clinic_cardiology;
    hy_resource_id dr_li;
    hy_channel_id app;
} region;

static inline int region_open(region *r, const char *policy, hy_policy_format format) {
    memset(r, 0, sizeof *r);
    hy_timestamp start;
    if (hy_date_from_ymd(2026, 11, 23, &r->today) != HY_OK) return 0;
    if (hy_date_from_ymd(2026, 11, 25, &r->visit_day) != HY_OK) return 0;
    if (hy_timestamp_from_local(r->today, 16 * 60, OFFSET_S, &start) != HY_OK) return 0;
    if (hy_engine_with_manual_clock(policy, format, OFFSET_S, start, &r->engine) != HY_OK) return 0;
    if (hy_engine_add_institution(r->engine, "Dongguan People's Hospital", HY_TIER_TERTIARY, "Guancheng", &r->hospital) != HY_OK) return 0;
    if (hy_engine_add_institution(r->engine, "Guancheng Community Clinic", HY_TIER_COMMUNITY, "Guancheng", &r->clinic) != HY_OK) return 0;
    if (hy_engine_add_department(r->engine, r->hospital, "cardiology", "Cardiology", &r->cardiology) != HY_OK) return 0;
    if (hy_engine_add_department(r->engine, r->clinic, "cardiology", "General practice (heart)", &r->clinic_cardiology) != HY_OK) return 0;
    if (hy_engine_add_resource(r->engine, r->cardiology, HY_RESOURCE_DOCTOR, "Dr Li", false, &r->dr_li) != HY_OK) return 0;
    if (hy_engine_channel_id(r->engine, "app", &r->app) != HY_OK) return 0;
    return 1;
}

/* Publish `n` consecutive 30-minute segments from 08:00 on the visit day, `capacity` places
 * each; returns the first slot id through `first`. */
static inline int region_publish(region *r, hy_resource_id resource, int n, uint16_t capacity, hy_slot_id *first) {
    hy_slot_spec specs[48];
    if (n > 48) return 0;
    for (int i = 0; i < n; i++) {
        specs[i].resource = resource;
        specs[i].date = r->visit_day;
        specs[i].start_min = (uint16_t)(8 * 60 + 30 * i);
        specs[i].end_min = (uint16_t)(8 * 60 + 30 * i + 30);
        specs[i].capacity = capacity;
    }
    return hy_engine_publish_slots(r->engine, specs, (size_t)n, first) == HY_OK;
}

static inline hy_request request_for(hy_patient_id patient, hy_slot_id slot, hy_channel_id channel) {
    hy_request q;
    memset(&q, 0, sizeof q);
    q.patient = patient;
    q.slot = slot;
    q.channel = channel;
    return q;
}

/* Places taken in a slot, over all pools (-1 if the slot cannot be read). */
static inline int slot_taken(hy_engine *e, hy_slot_id slot) {
    hy_slot_info info;
    if (hy_engine_slot(e, slot, &info) != HY_OK) return -1;
    return info.pool_taken[0] + info.pool_taken[1] + info.pool_taken[2] + info.pool_taken[3];
}

/* The state of a hold or booking (an impossible value if it cannot be read). */
static inline hy_booking_state booking_state(hy_engine *e, hy_booking_id id) {
    hy_booking b;
    memset(&b, 0xff, sizeof b);
    hy_engine_booking(e, id, &b);
    return b.state;
}

/* Slots published so far. */
static inline uint64_t slot_count(hy_engine *e) {
    hy_stats s;
    if (hy_engine_stats(e, &s) != HY_OK) return UINT64_MAX;
    return s.slots;
}

/* A misaligned pointer for an output: refused with HY_INVALID_ARGUMENT, like NULL, before the
 * call does anything. */
static inline size_t *misaligned_size_t(void) {
    static _Alignas(8) unsigned char raw[2 * sizeof(uint64_t)];
    return (size_t *)(void *)(raw + 1);
}
#define MISALIGNED_SIZE_T (misaligned_size_t())

#endif
