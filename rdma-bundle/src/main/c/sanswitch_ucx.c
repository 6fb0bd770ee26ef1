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
 * (for ucp_request_cancel), < 0 = the ucs_status_t it failed with. Every call is made on the
 * worker's progress thread, as is every callback (UCX calls them from ucp_worker_progress).
 */
#include <jni.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucp/api/ucp.h>

static JavaVM *jvm;
static jclass native_class;
static jmethodID completed_method;

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    JNIEnv *env;
    jclass local;

    jvm = vm;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) {
        return JNI_ERR;
    }
    local = (*env)->FindClass(env, "io/sanswitch/rdma/UcxNative");
    if (local == NULL) {
        return JNI_ERR;
    }
    /* The one global reference this library holds, for as long as it is loaded. */
    native_class     = (*env)->NewGlobalRef(env, local);
    completed_method = (*env)->GetStaticMethodID(env, native_class, "completed", "(JIJ)V");
    (*env)->DeleteLocalRef(env, local);
    return completed_method == NULL ? JNI_ERR : JNI_VERSION_1_8;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved)
{
    JNIEnv *env;

    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) == JNI_OK && native_class != NULL) {
        (*env)->DeleteGlobalRef(env, native_class);
        native_class = NULL;
    }
}

static void upcall(uint64_t token, ucs_status_t status, size_t length)
{
    JNIEnv *env;

    if ((*jvm)->GetEnv(jvm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) {
        return; /* not a Java thread: cannot happen, UCX calls back inside progress */
    }
    (*env)->CallStaticVoidMethod(env, native_class, completed_method, (jlong)token, (jint)status,
                                 (jlong)length);
    if ((*env)->ExceptionCheck(env)) {
        /* UcxNative.completed catches everything; never unwind through UCX. */
        (*env)->ExceptionClear(env);
    }
}

static void send_done(void *request, ucs_status_t status, void *user_data)
{
    ucp_request_free(request);
    upcall((uintptr_t)user_data, status, 0);
}

/* A send of several buffers: UCX reads the iov array until completion, so it lives until then. */
typedef struct {
    uint64_t  token;
    ucp_dt_iov_t iov[];
} iov_send_t;

static void iov_send_done(void *request, ucs_status_t status, void *user_data)
{
    iov_send_t *send = user_data;
    uint64_t token   = send->token;

    free(send);
    ucp_request_free(request);
    upcall(token, status, 0);
}

static void recv_done(void *request, ucs_status_t status, const ucp_tag_recv_info_t *info,
                      void *user_data)
{
    size_t length = (status == UCS_OK) ? info->length : 0;

    ucp_request_free(request);
    upcall((uintptr_t)user_data, status, length);
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

static void send_param(ucp_request_param_t *param, ucp_send_nbx_callback_t cb, void *user_data)
{
    param->op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    param->cb.send      = cb;
    param->user_data    = user_data;
}

JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_tagSend(JNIEnv *env, jclass cls, jlong ep,
        jlong address, jlong length, jlong tag, jlong token)
{
    ucp_request_param_t param;

    send_param(&param, send_done, (void *)(uintptr_t)token);
    return started(ucp_tag_send_nbx((ucp_ep_h)(uintptr_t)ep, (void *)(uintptr_t)address,
                                    (size_t)length, (ucp_tag_t)tag, &param));
}

JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_tagSendv(JNIEnv *env, jclass cls, jlong ep,
        jlongArray addresses, jlongArray lengths, jlong tag, jlong token)
{
    jsize count = (*env)->GetArrayLength(env, addresses);
    ucp_request_param_t param;
    ucs_status_ptr_t request;
    iov_send_t *send;
    jlong *a, *l;
    jsize i;

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
    for (i = 0; i < count; i++) {
        send->iov[i].buffer = (void *)(uintptr_t)a[i];
        send->iov[i].length = (size_t)l[i];
    }
    (*env)->ReleaseLongArrayElements(env, addresses, a, JNI_ABORT);
    (*env)->ReleaseLongArrayElements(env, lengths, l, JNI_ABORT);

    send_param(&param, iov_send_done, send);
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_DATATYPE;
    param.datatype      = ucp_dt_make_iov();
    request = ucp_tag_send_nbx((ucp_ep_h)(uintptr_t)ep, send->iov, (size_t)count, (ucp_tag_t)tag,
                               &param);
    if (!UCS_PTR_IS_PTR(request)) {
        free(send); /* completed or failed in the call: no callback will come */
    }
    return started(request);
}

JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_tagReceiveMessage(JNIEnv *env, jclass cls,
        jlong worker, jlong address, jlong length, jlong message, jlong token)
{
    ucp_request_param_t param;

    param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    param.cb.recv      = recv_done;
    param.user_data    = (void *)(uintptr_t)token;
    return started(ucp_tag_msg_recv_nbx((ucp_worker_h)(uintptr_t)worker, (void *)(uintptr_t)address,
                                        (size_t)length, (ucp_tag_message_h)(uintptr_t)message,
                                        &param));
}

JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_flush(JNIEnv *env, jclass cls, jlong ep,
        jlong token)
{
    ucp_request_param_t param;

    send_param(&param, send_done, (void *)(uintptr_t)token);
    return started(ucp_ep_flush_nbx((ucp_ep_h)(uintptr_t)ep, &param));
}

/* force != 0: UCP_EP_CLOSE_FLAG_FORCE (spec: reset), else a flushing close. */
JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_close(JNIEnv *env, jclass cls, jlong ep,
        jboolean force, jlong token)
{
    ucp_request_param_t param;

    send_param(&param, send_done, (void *)(uintptr_t)token);
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
    param.flags         = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
    return started(ucp_ep_close_nbx((ucp_ep_h)(uintptr_t)ep, &param));
}

/* Completes a pending request with UCS_ERR_CANCELED through its callback (receives only). */
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

/* Unpacks a peer's packed remote key; the key or the negative status. */
JNIEXPORT jlong JNICALL Java_io_sanswitch_rdma_UcxNative_unpackRemoteKey(JNIEnv *env, jclass cls,
        jlong ep, jbyteArray packed)
{
    ucs_status_t status;
    ucp_rkey_h rkey;
    jbyte *bytes = (*env)->GetByteArrayElements(env, packed, NULL);

    if (bytes == NULL) {
        return (jlong)UCS_ERR_NO_MEMORY;
    }
    status = ucp_ep_rkey_unpack((ucp_ep_h)(uintptr_t)ep, bytes, &rkey);
    (*env)->ReleaseByteArrayElements(env, packed, bytes, JNI_ABORT);
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
