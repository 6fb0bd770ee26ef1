/*
 * The few UCP calls of the UCX transport that start a request, without JUCX's JNI layer.
 *
 * Why: JUCX 1.12.1 (the last JUCX that accepts Debian 12's libucx 1.13) takes a JNI global
 * reference for every request and deletes it only in UCX's completion callback. A request that
 * completes inside its call (an eager send, the receive of an eager message, a forced endpoint
 * close, a flush with nothing outstanding) never gets that callback, so its reference and the Java
 * object behind it leak (openucx/ucx#8829). Here a request carries a plain number (the token
 * Java chose), never a JNI reference; a request that completes in its call is reported by the
 * return value, one that completes later by a single upcall to UcxNative.completed.
 *
 * Endpoints are created here too: JUCX's endpoint keeps a JNI weak global reference for its error
 * handler that only an error ever deletes, so one per endpoint closed in order would leak.
 *
 * Return values of the starting calls: 0 = completed inside the call, > 0 = the pending request
 * (for ucp_request_cancel), < 0 = the ucs_status_t it failed with. A request whose callback ran
 * inside the call counts as completed inside it (starting_call_t). Every call is made on the
 * worker's progress thread, as is every callback (UCX calls them from ucp_worker_progress).
 *
 * Everything from Java is checked before UCX sees it: the arrays of a multi-buffer send, and a
 * peer's packed remote key (bounded, its sizes adding up).
 */
#include <jni.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucp/api/ucp.h>

static JavaVM *jvm;
/* Weak: a strong reference would keep UcxNative, and with it the class loader of the bundle that
 * loaded this library, alive for ever, so every update of the bundle would leak a class loader
 * (JNI_OnUnload only runs once that loader is collected). While requests exist the class is in
 * use (the worker threads run its code), so it cannot be collected under a pending callback. */
static jweak native_class;
static jmethodID completed_method;

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    JNIEnv *env;
    jclass local;
    jmethodID method;
    jweak weak = NULL;

    jvm = vm;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) {
        return JNI_ERR;
    }
    local = (*env)->FindClass(env, "io/sanswitch/rdma/UcxNative");
    if (local == NULL) {
        return JNI_ERR;
    }
    method = (*env)->GetStaticMethodID(env, local, "completed", "(JIJ)V");
    if (method != NULL) {
        weak = (*env)->NewWeakGlobalRef(env, local);
    }
    (*env)->DeleteLocalRef(env, local);
    if (weak == NULL) {
        return JNI_ERR;
    }
    native_class     = weak;
    completed_method = method;
    return JNI_VERSION_1_8;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved)
{
    JNIEnv *env;

    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) == JNI_OK && native_class != NULL) {
        (*env)->DeleteWeakGlobalRef(env, native_class);
        native_class = NULL;
    }
}

/* Hands a completion to UcxNative.completed. Never loses one: UCX calls back inside progress, on
 * a Java thread, but should any other thread get here (a UCX async thread) it is attached for
 * the call rather than leave its operation waiting for ever. */
static void upcall(uint64_t token, ucs_status_t status, size_t length)
{
    JNIEnv *env;
    jclass cls;
    jint got      = (*jvm)->GetEnv(jvm, (void **)&env, JNI_VERSION_1_8);
    int attached  = 0;

    if (got == JNI_EDETACHED) {
        if ((*jvm)->AttachCurrentThreadAsDaemon(jvm, (void **)&env, NULL) != JNI_OK) {
            fprintf(stderr, "sanswitch_ucx: cannot attach a thread to the JVM: completion of UCX request %llu"
                    " (status %d) lost\n", (unsigned long long)token, (int)status);
            return;
        }
        attached = 1;
    } else if (got != JNI_OK) {
        fprintf(stderr, "sanswitch_ucx: no JNI environment (%d): completion of UCX request %llu (status %d)"
                " lost\n", (int)got, (unsigned long long)token, (int)status);
        return;
    }
    cls = (*env)->NewLocalRef(env, native_class);
    if (cls != NULL) {
        (*env)->CallStaticVoidMethod(env, cls, completed_method, (jlong)token, (jint)status,
                                     (jlong)length);
        if ((*env)->ExceptionCheck(env)) {
            /* UcxNative.completed catches everything; never unwind through UCX. */
            fprintf(stderr, "sanswitch_ucx: completion of UCX request %llu threw:\n",
                    (unsigned long long)token);
            (*env)->ExceptionDescribe(env);
            (*env)->ExceptionClear(env);
        }
        (*env)->DeleteLocalRef(env, cls);
    } else {
        /* Only once UcxNative is unloaded, when no request of it can exist any more. */
        fprintf(stderr, "sanswitch_ucx: UcxNative is gone: completion of UCX request %llu dropped\n",
                (unsigned long long)token);
    }
    if (attached) {
        (*jvm)->DetachCurrentThread(jvm);
    }
}

/* A starting call running on this thread (innermost first: a completion called inside one may
 * start another). A callback for the request the call is starting that runs inside the call is
 * recorded here and reported by the call's return value instead of an upcall: the callback has
 * freed the request, so the call must never hand it to Java (which could cancel it later). UCX
 * 1.13 does so for a request that completes in its call when UCP_OP_ATTR_FLAG_NO_IMM_CMPL is
 * given, and nothing in its API rules it out elsewhere. */
typedef struct starting_call {
    const void           *user_data; /* what UCX hands the callback of the request being started */
    int                   completed;
    ucs_status_t          status;
    struct starting_call *outer;
} starting_call_t;

static __thread starting_call_t *starting_calls;
/* Test hook (this thread only): ask UCX to complete requests through their callback inside the
 * call (UCP_OP_ATTR_FLAG_NO_IMM_CMPL), the case starting_call_t is for. */
static __thread int callbacks_in_call;
/* Callbacks that ran inside their starting call (all threads), for tests and diagnostics. */
static long completions_in_call;

static void call_begin(starting_call_t *call, const void *user_data)
{
    call->user_data = user_data;
    call->completed = 0;
    call->status    = UCS_OK;
    call->outer     = starting_calls;
    starting_calls  = call;
}

/* Whether the request of user_data is being started on this thread (the callback then records its
 * status there and makes no upcall). */
static int completes_in_call(const void *user_data, ucs_status_t status)
{
    starting_call_t *call;

    for (call = starting_calls; call != NULL; call = call->outer) {
        if (call->user_data == user_data) {
            call->completed = 1;
            call->status    = status;
            return 1;
        }
    }
    return 0;
}

static jlong started(ucs_status_ptr_t request)
{
    if (request == NULL) {
        return 0;
    }
    if (UCS_PTR_IS_ERR(request)) {
        return (jlong)UCS_PTR_STATUS(request);
    }
    return (jlong)(uintptr_t)request;
}

/* The return value of a starting call: a request whose callback ran inside the call is reported
 * as completed (0 or its error status), whatever UCX returned. */
static jlong call_end(starting_call_t *call, ucs_status_ptr_t request)
{
    starting_calls = call->outer;
    if (call->completed) {
        __atomic_add_fetch(&completions_in_call, 1, __ATOMIC_RELAXED);
        return (call->status < 0) ? (jlong)call->status : 0;
    }
    return started(request);
}

static void send_done(void *request, ucs_status_t status, void *user_data)
{
    ucp_request_free(request);
    if (!completes_in_call(user_data, status)) {
        upcall((uintptr_t)user_data, status, 0);
    }
}

/* A send of several buffers: UCX reads the iov array until completion, so it lives until then.
 * Listed while UCX may still call it back: a request UCX never calls back (stuck on a lane of a
 * dead peer, dropped with its worker) would leave it allocated for ever, so the thread that
 * destroyed the worker frees what its worker's sends left (releaseSendsOfThisThread). */
typedef struct iov_send {
    uint64_t         token;
    pthread_t        thread; /* the worker's thread, which started it */
    struct iov_send *prev, *next;
    ucp_dt_iov_t     iov[];
} iov_send_t;

static pthread_mutex_t iov_sends_lock = PTHREAD_MUTEX_INITIALIZER;
static iov_send_t *iov_sends;
static long live_iov_sends;

static void iov_send_link(iov_send_t *send)
{
    send->thread = pthread_self();
    send->prev   = NULL;
    pthread_mutex_lock(&iov_sends_lock);
    send->next = iov_sends;
    if (iov_sends != NULL) {
        iov_sends->prev = send;
    }
    iov_sends = send;
    live_iov_sends++;
    pthread_mutex_unlock(&iov_sends_lock);
}

static void iov_send_unlink_locked(iov_send_t *send)
{
    if (send->prev != NULL) {
        send->prev->next = send->next;
    } else {
        iov_sends = send->next;
    }
    if (send->next != NULL) {
        send->next->prev = send->prev;
    }
    live_iov_sends--;
}

static void iov_send_free(iov_send_t *send)
{
    pthread_mutex_lock(&iov_sends_lock);
    iov_send_unlink_locked(send);
    pthread_mutex_unlock(&iov_sends_lock);
    free(send);
}

static void iov_send_done(void *request, ucs_status_t status, void *user_data)
{
    iov_send_t *send = user_data;
    uint64_t token   = send->token;
    int in_call      = completes_in_call(send, status);

    iov_send_free(send);
    ucp_request_free(request);
    if (!in_call) {
        upcall(token, status, 0);
    }
}

static void recv_done(void *request, ucs_status_t status, const ucp_tag_recv_info_t *info,
                      void *user_data)
{
    size_t length = (status == UCS_OK) ? info->length : 0;

    ucp_request_free(request);
    if (!completes_in_call(user_data, status)) {
        upcall((uintptr_t)user_data, status, length);
    }
}

static void send_param(ucp_request_param_t *param, ucp_send_nbx_callback_t cb, void *user_data)
{
    param->op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    param->cb.send      = cb;
    param->user_data    = user_data;
    if (callbacks_in_call) {
        param->op_attr_mask |= UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
    }
}

JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_tagSend(JNIEnv *env, jclass cls, jlong ep,
        jlong address, jlong length, jlong tag, jlong token)
{
    ucp_request_param_t param;
    starting_call_t call;
    ucs_status_ptr_t request;
    void *user_data = (void *)(uintptr_t)token;

    send_param(&param, send_done, user_data);
    call_begin(&call, user_data);
    request = ucp_tag_send_nbx((ucp_ep_h)(uintptr_t)ep, (void *)(uintptr_t)address, (size_t)length,
                               (ucp_tag_t)tag, &param);
    return call_end(&call, request);
}

/* The buffers of a multi-buffer send; UCS_ERR_INVALID_PARAM unless both arrays are there, have the
 * same (non-zero) number of entries and no length is negative (the arrays come from Java, where
 * nothing stops a caller from passing arrays of different lengths). */
JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_tagSendv(JNIEnv *env, jclass cls, jlong ep,
        jlongArray addresses, jlongArray lengths, jlong tag, jlong token)
{
    ucp_request_param_t param;
    starting_call_t call;
    ucs_status_ptr_t request;
    iov_send_t *send;
    jlong *a, *l;
    jsize count, i;

    if ((addresses == NULL) || (lengths == NULL)) {
        return (jlong)UCS_ERR_INVALID_PARAM;
    }
    count = (*env)->GetArrayLength(env, addresses);
    if ((count == 0) || (count != (*env)->GetArrayLength(env, lengths))) {
        return (jlong)UCS_ERR_INVALID_PARAM;
    }
    send = malloc(sizeof(*send) + (size_t)count * sizeof(ucp_dt_iov_t));
    if (send == NULL) {
        return (jlong)UCS_ERR_NO_MEMORY;
    }
    send->token = (uint64_t)token;
    a = (*env)->GetLongArrayElements(env, addresses, NULL);
    l = (*env)->GetLongArrayElements(env, lengths, NULL);
    if ((a == NULL) || (l == NULL)) { /* out of memory: an OutOfMemoryError is pending */
        if (a != NULL) {
            (*env)->ReleaseLongArrayElements(env, addresses, a, JNI_ABORT);
        }
        if (l != NULL) {
            (*env)->ReleaseLongArrayElements(env, lengths, l, JNI_ABORT);
        }
        free(send);
        return (jlong)UCS_ERR_NO_MEMORY;
    }
    for (i = 0; (i < count) && (l[i] >= 0); i++) {
        send->iov[i].buffer = (void *)(uintptr_t)a[i];
        send->iov[i].length = (size_t)l[i];
    }
    (*env)->ReleaseLongArrayElements(env, addresses, a, JNI_ABORT);
    (*env)->ReleaseLongArrayElements(env, lengths, l, JNI_ABORT);
    if (i < count) { /* a negative length */
        free(send);
        return (jlong)UCS_ERR_INVALID_PARAM;
    }

    send_param(&param, iov_send_done, send);
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_DATATYPE;
    param.datatype      = ucp_dt_make_iov();
    iov_send_link(send); /* before the call: its callback may run inside it */
    call_begin(&call, send);
    request = ucp_tag_send_nbx((ucp_ep_h)(uintptr_t)ep, send->iov, (size_t)count, (ucp_tag_t)tag,
                               &param);
    if (!call.completed && !UCS_PTR_IS_PTR(request)) {
        iov_send_free(send); /* completed or failed in the call without its callback: none will come */
    }
    return call_end(&call, request);
}

JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_tagReceiveMessage(JNIEnv *env, jclass cls,
        jlong worker, jlong address, jlong length, jlong message, jlong token)
{
    ucp_request_param_t param;
    starting_call_t call;
    ucs_status_ptr_t request;
    void *user_data = (void *)(uintptr_t)token;

    param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    param.cb.recv      = recv_done;
    param.user_data    = user_data;
    if (callbacks_in_call) {
        param.op_attr_mask |= UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
    }
    call_begin(&call, user_data);
    request = ucp_tag_msg_recv_nbx((ucp_worker_h)(uintptr_t)worker, (void *)(uintptr_t)address,
                                   (size_t)length, (ucp_tag_message_h)(uintptr_t)message, &param);
    return call_end(&call, request);
}

JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_flush(JNIEnv *env, jclass cls, jlong ep,
        jlong token)
{
    ucp_request_param_t param;
    starting_call_t call;
    ucs_status_ptr_t request;
    void *user_data = (void *)(uintptr_t)token;

    send_param(&param, send_done, user_data);
    call_begin(&call, user_data);
    request = ucp_ep_flush_nbx((ucp_ep_h)(uintptr_t)ep, &param);
    return call_end(&call, request);
}

/* force != 0: UCP_EP_CLOSE_FLAG_FORCE (spec: reset), else a flushing close. */
JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_close(JNIEnv *env, jclass cls, jlong ep,
        jboolean force, jlong token)
{
    ucp_request_param_t param;
    starting_call_t call;
    ucs_status_ptr_t request;
    void *user_data = (void *)(uintptr_t)token;

    send_param(&param, send_done, user_data);
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
    param.flags         = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
    call_begin(&call, user_data);
    request = ucp_ep_close_nbx((ucp_ep_h)(uintptr_t)ep, &param);
    return call_end(&call, request);
}

JNIEXPORT void JNICALL Java_io_sanswitch_rdma_UcxNative_cancel(JNIEnv *env, jclass cls, jlong worker,
        jlong request)
{
    ucp_request_cancel((ucp_worker_h)(uintptr_t)worker, (void *)(uintptr_t)request);
}

static void endpoint_failed(void *arg, ucp_ep_h ep, ucs_status_t status)
{
    upcall((uintptr_t)arg, status, 0);
}

/* An endpoint to a peer worker's address, with peer error handling: UCX reports the peer's
 * failure (and a forced close by it) as one upcall with the token. */
JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_createEndpoint(JNIEnv *env, jclass cls,
        jlong worker, jbyteArray address, jlong token)
{
    ucp_ep_params_t params;
    ucs_status_t status;
    ucp_ep_h ep;
    jbyte *bytes = (*env)->GetByteArrayElements(env, address, NULL);

    if (bytes == NULL) {
        return (jlong)UCS_ERR_NO_MEMORY;
    }
    params.field_mask      = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                             UCP_EP_PARAM_FIELD_ERR_HANDLER;
    params.address         = (const ucp_address_t *)bytes;
    params.err_mode        = UCP_ERR_HANDLING_MODE_PEER;
    params.err_handler.cb  = endpoint_failed;
    params.err_handler.arg = (void *)(uintptr_t)token;
    status = ucp_ep_create((ucp_worker_h)(uintptr_t)worker, &params, &ep);
    (*env)->ReleaseByteArrayElements(env, address, bytes, JNI_ABORT);
    return (status == UCS_OK) ? (jlong)(uintptr_t)ep : (jlong)status;
}

/* The longest remote key UCX 1.13 packs (ucp_rkey_pack): its memory domain map (64 bits), the
 * memory type, then for each memory domain in the map the size of its key (a byte) and the key.
 * Same figure as UcxNative.PACKED_KEY_MAX. */
#define PACKED_KEY_MAX (sizeof(uint64_t) + 1 + 64 * (1 + UINT8_MAX))

/* Whether packed[0, length) is laid out as ucp_rkey_pack lays out a key of host memory: the sizes
 * it states add up to its length exactly (it packs no system device part). UCX itself trusts them
 * and reads as far as they say. */
static int packed_key_adds_up(const uint8_t *packed, size_t length)
{
    uint64_t md_map;
    size_t at = sizeof(md_map) + 1;

    if (length < at) {
        return 0;
    }
    memcpy(&md_map, packed, sizeof(md_map)); /* native byte order, as UCX packs it */
    if (packed[sizeof(md_map)] != UCS_MEMORY_TYPE_HOST) {
        return 0;
    }
    for (; md_map != 0; md_map &= md_map - 1) {
        if (at >= length) {
            return 0;
        }
        at += 1 + (size_t)packed[at];
    }
    return at == length;
}

/* Unpacks a peer's packed remote key (peer bytes: bounded and checked here, before UCX reads
 * them); the key, or the negative status (UCS_ERR_INVALID_PARAM: not a key). */
JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_epRkeyUnpack(JNIEnv *env,
        jclass cls, jlong ep, jbyteArray packed)
{
    ucs_status_t status;
    ucp_rkey_h rkey;
    uint8_t *bytes;
    jsize length;

    if (packed == NULL) {
        return (jlong)UCS_ERR_INVALID_PARAM;
    }
    length = (*env)->GetArrayLength(env, packed);
    if ((length <= 0) || ((size_t)length > PACKED_KEY_MAX)) {
        return (jlong)UCS_ERR_INVALID_PARAM;
    }
    /* Followed by UINT8_MAX zero bytes: a transport reads as much of its key as its own key size
     * says, whatever the peer wrote as the size, and so never reads past this copy. */
    bytes = calloc(1, (size_t)length + UINT8_MAX);
    if (bytes == NULL) {
        return (jlong)UCS_ERR_NO_MEMORY;
    }
    (*env)->GetByteArrayRegion(env, packed, 0, length, (jbyte *)bytes);
    if (!packed_key_adds_up(bytes, (size_t)length)) {
        free(bytes);
        return (jlong)UCS_ERR_INVALID_PARAM;
    }
    status = ucp_ep_rkey_unpack((ucp_ep_h)(uintptr_t)ep, bytes, &rkey);
    free(bytes);
    return (status == UCS_OK) ? (jlong)(uintptr_t)rkey : (jlong)status;
}

JNIEXPORT void JNICALL Java_io_sanswitch_rdma_UcxNative_destroyRemoteKey(JNIEnv *env, jclass cls,
        jlong rkey)
{
    ucp_rkey_destroy((ucp_rkey_h)(uintptr_t)rkey);
}

/* Put and get without a request each: their completion is the flush that follows them. */
JNIEXPORT jint JNICALL Java_io_sanswitch_rdma_UcxNative_put(JNIEnv *env, jclass cls, jlong ep,
        jlong address, jlong length, jlong remote, jlong rkey)
{
    ucs_status_t status = ucp_put_nbi((ucp_ep_h)(uintptr_t)ep, (const void *)(uintptr_t)address,
                                      (size_t)length, (uint64_t)remote, (ucp_rkey_h)(uintptr_t)rkey);
    return (status == UCS_INPROGRESS) ? UCS_OK : status;
}

JNIEXPORT jint JNICALL Java_io_sanswitch_rdma_UcxNative_get(JNIEnv *env, jclass cls, jlong ep,
        jlong address, jlong length, jlong remote, jlong rkey)
{
    ucs_status_t status = ucp_get_nbi((ucp_ep_h)(uintptr_t)ep, (void *)(uintptr_t)address,
                                      (size_t)length, (uint64_t)remote, (ucp_rkey_h)(uintptr_t)rkey);
    return (status == UCS_INPROGRESS) ? UCS_OK : status;
}

/* UCX's description of an endpoint's lanes (ucp_ep_print_info), e.g. to see which transports
 * carry a connection; null if it cannot be had. */
JNIEXPORT jstring JNICALL Java_io_sanswitch_rdma_UcxNative_describeEndpoint(JNIEnv *env, jclass cls,
        jlong ep)
{
    char *text    = NULL;
    size_t length = 0;
    jstring result;
    FILE *stream  = open_memstream(&text, &length);

    if (stream == NULL) {
        return NULL;
    }
    ucp_ep_print_info((ucp_ep_h)(uintptr_t)ep, stream);
    fclose(stream);
    result = (*env)->NewStringUTF(env, text);
    free(text);
    return result;
}

/* Sleeps until the worker has events or timeout_ms passed. Bounded on purpose: work UCX queues on
 * its own progress queue (the purge of a force-closed endpoint's requests, for one) raises no
 * event, and ucp_worker_wait would sleep through it. Returns 0, or a negative ucs_status_t. */
JNIEXPORT jint JNICALL Java_io_sanswitch_rdma_UcxNative_waitForEvents(JNIEnv *env, jclass cls,
        jlong worker, jint timeout_ms)
{
    ucp_worker_h w = (ucp_worker_h)(uintptr_t)worker;
    struct pollfd fd;
    ucs_status_t status;
    int efd;

    status = ucp_worker_get_efd(w, &efd);
    if (status != UCS_OK) {
        return status;
    }
    status = ucp_worker_arm(w);
    if (status == UCS_ERR_BUSY) {
        return 0; /* events already there: progress again */
    } else if (status != UCS_OK) {
        return status;
    }
    fd.fd      = efd;
    fd.events  = POLLIN;
    fd.revents = 0;
    if (poll(&fd, 1, timeout_ms) < 0 && errno != EINTR) {
        return UCS_ERR_IO_ERROR;
    }
    return 0;
}

/* The loaded libucp's version as (major << 16) | (minor << 8) | release: the worker-address
 * check knows one release's format (WorkerAddressFormat). */
JNIEXPORT jint JNICALL Java_io_sanswitch_rdma_UcxNative_ucpVersion(JNIEnv *env, jclass cls)
{
    unsigned major, minor, release;

    ucp_get_version(&major, &minor, &release);
    return (jint)(((major & 0xff) << 16) | ((minor & 0xff) << 8) | (release & 0xff));
}

/* Called by a worker's thread once it has destroyed its worker: UCX will call back none of the
 * requests that worker still held, so the multi-buffer sends this thread started and UCX did not
 * call back are freed here. Returns how many. */
JNIEXPORT jint JNICALL Java_io_sanswitch_rdma_UcxNative_releaseSendsOfThisThread(JNIEnv *env, jclass cls)
{
    pthread_t self = pthread_self();
    iov_send_t *send, *next;
    jint released = 0;

    pthread_mutex_lock(&iov_sends_lock);
    for (send = iov_sends; send != NULL; send = next) {
        next = send->next;
        if (pthread_equal(send->thread, self)) {
            iov_send_unlink_locked(send);
            free(send);
            released++;
        }
    }
    pthread_mutex_unlock(&iov_sends_lock);
    return released;
}

/* Multi-buffer sends whose memory is still allocated (all threads): the shim's native memory held for UCX. */
JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_liveMultiBufferSends(JNIEnv *env, jclass cls)
{
    jlong n;

    pthread_mutex_lock(&iov_sends_lock);
    n = live_iov_sends;
    pthread_mutex_unlock(&iov_sends_lock);
    return n;
}

/* Test hooks. */

/* on: UCX is asked to complete a request that completes inside its call through its callback,
 * inside the call (UCP_OP_ATTR_FLAG_NO_IMM_CMPL), for the starting calls of this thread. */
JNIEXPORT void JNICALL Java_io_sanswitch_rdma_UcxNative_callbacksInCall(JNIEnv *env, jclass cls,
        jboolean on)
{
    callbacks_in_call = on ? 1 : 0;
}

/* Callbacks that ran inside the call that started their request (reported by its return value). */
JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_completionsInCall(JNIEnv *env, jclass cls)
{
    return (jlong)__atomic_load_n(&completions_in_call, __ATOMIC_RELAXED);
}

typedef struct {
    uint64_t     token;
    ucs_status_t status;
    size_t       length;
} foreign_upcall_t;

static void *foreign_upcall(void *arg)
{
    foreign_upcall_t *u = arg;

    upcall(u->token, u->status, u->length);
    return NULL;
}

/* Makes the upcall for token from a new native thread that the JVM does not know, as a UCX thread
 * would; returns 0 once that thread has ended, else the pthread error. */
JNIEXPORT jint JNICALL Java_io_sanswitch_rdma_UcxNative_upcallFromNativeThread(JNIEnv *env,
        jclass cls, jlong token, jint status, jlong length)
{
    foreign_upcall_t u = {(uint64_t)token, (ucs_status_t)status, (size_t)length};
    pthread_t thread;
    int error = pthread_create(&thread, NULL, foreign_upcall, &u);

    return (error != 0) ? error : pthread_join(thread, NULL);
}
