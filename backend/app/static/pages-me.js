// 我的 (who is logged in, masked; log-out) and 我的消息 (the citizen's notifications).

import { api, go, session, formatTime } from "./api.js";

const { ref, onMounted } = Vue;

export const Me = {
  props: ["params", "query"],
  template: `
    <div class="me">
      <div class="hero" v-if="s">
        <van-icon name="manager" size="48"></van-icon>
        <h2 data-test="name">{{ s.name || '未实名' }}</h2>
        <p>{{ s.id_number_masked || '' }}</p>
        <p>{{ s.phone_masked }}</p>
      </div>
      <div class="hero" v-else>
        <p>登录后查看办件、证照和消息</p>
        <van-button round type="primary" @click="login">登录 / 注册</van-button>
      </div>
      <van-cell-group inset>
        <van-cell title="我的办件" icon="orders-o" is-link @click="goto('/applications')"></van-cell>
        <van-cell title="我的证照" icon="idcard" is-link @click="goto('/licences')"></van-cell>
        <van-cell title="我的消息" icon="bell" is-link @click="goto('/messages')"></van-cell>
        <van-cell title="我要问" icon="question-o" is-link @click="goto('/ask')"></van-cell>
        <van-cell title="我要评" icon="star-o" is-link @click="goto('/rate')"></van-cell>
        <van-cell v-if="s && !s.citizen_id" title="去实名认证" icon="shield-o" is-link @click="goto('/real-name')"></van-cell>
      </van-cell-group>
      <div class="action-bar" v-if="s">
        <van-button round block plain type="danger" size="large" @click="logout">退出登录</van-button>
      </div>
    </div>`,
  setup() {
    const s = ref(session.get());
    async function logout() {
      try {
        await api("/api/v1/app/auth/logout", { method: "POST", auth: true });
      } catch {
        // already expired: dropping it here is all that is left to do
      }
      session.clear();
      s.value = null;
      vant.showToast("已退出登录");
      go("/", { replace: true });
    }
    return {
      s,
      logout,
      goto: (p) => go(p),
      login: () => go("/login?next=/me"),
    };
  },
};

export const Messages = {
  props: ["params", "query"],
  template: `
    <div>
      <van-pull-refresh v-model="refreshing" @refresh="load" pulling-text="下拉刷新" loosing-text="释放刷新" loading-text="正在刷新…">
      <van-empty v-if="loaded && !items.length && !error" description="暂无消息"></van-empty>
      <van-cell-group inset>
        <van-cell v-for="n in items" :key="n.id" :title="n.title" :label="n.body + ' · ' + time(n.created_at)"
                  :is-link="n.kind === 'application' || n.kind === 'question'" class="message" @click="open(n)"></van-cell>
      </van-cell-group>
      </van-pull-refresh>
      <p v-if="error" class="error-text">{{ error }}</p>
    </div>`,
  setup() {
    const items = ref([]);
    const loaded = ref(false);
    const error = ref("");
    const refreshing = ref(false);
    async function load() {
      try {
        items.value = await api("/api/v1/citizen/notifications", { auth: true });
      } catch (err) {
        error.value = err.message;
      } finally {
        loaded.value = true;
        refreshing.value = false;
      }
    }
    onMounted(load);
    return {
      refreshing,
      load,
      items,
      loaded,
      error,
      time: formatTime,
      // a notice about an application names its receipt number; one about a question, the question
      open: (n) => {
        if (n.kind === "application" && n.reference) go("/applications/" + encodeURIComponent(n.reference));
        else if (n.kind === "question") go("/ask");
      },
    };
  },
};
