// 我要问: search the FAQ first (no log-in); if no answer fits, a logged-in citizen asks and
// sees the department's answer in the same place later.

import { api, go, session, formatTime } from "./api.js";

const { ref, onMounted } = Vue;

export const Ask = {
  props: ["params", "query"],
  template: `
    <div class="ask">
      <van-search v-model="q" shape="round" placeholder="输入您的问题，如：身份证丢了怎么办" @search="search"></van-search>
      <van-collapse v-model="open" v-if="faqs.length">
        <van-collapse-item v-for="f in faqs" :key="f.id" :title="f.question" :name="f.id">
          <div class="text-block">{{ f.answer }}</div>
        </van-collapse-item>
      </van-collapse>
      <van-empty v-else-if="searched" description="没有找到相关解答，您可以直接提问"></van-empty>
      <van-cell-group inset title="没找到答案？向我们提问">
        <van-field v-model="text" type="textarea" rows="3" maxlength="1000" show-word-limit
                   placeholder="请描述您的问题，工作人员将在 3 个工作日内答复"></van-field>
      </van-cell-group>
      <p v-if="error" class="error-text" role="alert">{{ error }}</p>
      <div class="action-bar">
        <van-button round block type="primary" size="large" :loading="busy" @click="ask">提交问题</van-button>
      </div>
      <van-cell-group inset title="我的提问" v-if="mine.length">
        <van-cell v-for="m in mine" :key="m.id" :title="m.text" :label="m.answer ? '答复：' + m.answer : '提交于 ' + time(m.created_at)">
          <template #value>
            <van-tag :type="m.state === 'answered' ? 'success' : 'primary'">{{ m.state === 'answered' ? '已答复' : '待答复' }}</van-tag>
          </template>
        </van-cell>
      </van-cell-group>
    </div>`,
  setup(props) {
    const q = ref("");
    const faqs = ref([]);
    const open = ref([]);
    const searched = ref(false);
    const text = ref("");
    const error = ref("");
    const busy = ref(false);
    const mine = ref([]);

    async function search() {
      error.value = "";
      try {
        faqs.value = await api("/api/v1/faq", { query: { q: q.value.trim(), limit: 10 } });
        searched.value = true;
      } catch (err) {
        error.value = err.message;
      }
    }
    async function loadMine() {
      const s = session.get();
      if (!s || !s.citizen_id) return;
      try {
        mine.value = await api("/api/v1/citizen/questions", { auth: true });
      } catch (err) {
        error.value = err.message;
      }
    }
    onMounted(() => {
      search();
      loadMine();
    });

    async function ask() {
      error.value = "";
      const s = session.get();
      if (!s) return go("/login?next=" + encodeURIComponent("/ask"));
      if (!s.citizen_id) return go("/real-name?next=" + encodeURIComponent("/ask"));
      if (text.value.trim().length < 2) return (error.value = "请把问题描述得具体一些");
      busy.value = true;
      try {
        const created = await api("/api/v1/citizen/questions", {
          method: "POST",
          auth: true,
          body: { text: text.value.trim(), item_code: props.query.item || null },
        });
        text.value = "";
        vant.showSuccessToast(created.answer ? "已为您找到答复" : "提问已提交");
        await loadMine();
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = false;
      }
    }
    return { q, faqs, open, searched, text, error, busy, mine, search, ask, time: formatTime };
  },
};
