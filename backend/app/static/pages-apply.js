// 在线申请, 我的办件 and 办件详情 (progress, with the reviewer's decisions as they arrive).

import { api, go, poll, formatTime, stateTagType, CONCLUDED } from "./api.js";
import { materialRows, missingMaterials } from "./materials.js";

const { ref, reactive, computed, onMounted, onBeforeUnmount } = Vue;

const POLL_MS = 6000; // how soon a reviewer's decision shows on an open application's page

const DELIVERY = ["电子送达", "邮寄送达", "窗口领取"];

export const Apply = {
  props: ["params", "query"],
  template: `
    <div v-if="item && me" class="apply">
      <div class="guide-head">
        <h2>{{ item.name }}</h2>
        <p>{{ item.department_name }}</p>
      </div>
      <van-cell-group inset title="申请人">
        <van-cell title="姓名" :value="me.name"></van-cell>
        <van-cell title="身份证号" :value="me.id_number_masked"></van-cell>
      </van-cell-group>
      <van-cell-group inset title="申请材料">
        <van-cell v-for="m in materials" :key="m.name" :title="m.name" :label="m.label">
          <template #value>
            <van-tag v-if="m.licence" type="success">已自动调取</van-tag>
            <van-checkbox v-else v-model="m.ready" shape="square">{{ m.required ? '已备齐' : '将提交' }}</van-checkbox>
          </template>
        </van-cell>
      </van-cell-group>
      <p class="hint">已有电子证照的材料由系统自动调取，无需重复提交；其余材料请在受理时提交纸质件。</p>
      <van-form @submit="submit">
        <van-cell-group inset title="联系与送达">
          <van-field v-model="form.contact_phone" label="联系电话" type="tel" maxlength="11"
                     placeholder="用于办理进度联系"></van-field>
          <van-field label="送达方式">
            <template #input>
              <van-radio-group v-model="form.delivery" direction="horizontal">
                <van-radio v-for="d in delivery" :key="d" :name="d">{{ d }}</van-radio>
              </van-radio-group>
            </template>
          </van-field>
          <van-field v-model="form.note" label="备注" type="textarea" rows="2" maxlength="200"
                     show-word-limit placeholder="选填"></van-field>
        </van-cell-group>
        <van-checkbox v-model="promise" class="agree" shape="square">本人承诺所填信息及所交材料真实有效</van-checkbox>
        <p v-if="error" class="error-text" role="alert">{{ error }}</p>
        <div class="action-bar">
          <van-button round block type="primary" size="large" native-type="submit" :loading="busy">提交申请</van-button>
        </div>
      </van-form>
    </div>
    <van-empty v-else-if="error" image="error" :description="error"></van-empty>
    <van-loading v-else class="center" size="32">正在准备申请表…</van-loading>`,
  setup(props) {
    const item = ref(null);
    const me = ref(null);
    const materials = ref([]);
    const form = reactive({ contact_phone: "", delivery: DELIVERY[0], note: "" });
    const promise = ref(false);
    const error = ref("");
    const busy = ref(false);

    onMounted(async () => {
      try {
        const [guide, who, licences] = await Promise.all([
          api("/api/v1/catalog/items/" + encodeURIComponent(props.params.code)),
          api("/api/v1/citizen/me", { auth: true }),
          api("/api/v1/citizen/licences", { auth: true }),
        ]);
        if (!guide.online) {
          error.value = "本事项暂不支持网上申请，请到现场办理";
          return;
        }
        item.value = guide;
        me.value = who;
        materials.value = materialRows(guide.materials, licences);
      } catch (err) {
        error.value = err.message;
      }
    });

    async function submit() {
      error.value = "";
      const missing = missingMaterials(materials.value);
      if (missing) return (error.value = missing);
      if (form.contact_phone && !/^1[3-9]\d{9}$/.test(form.contact_phone))
        return (error.value = "联系电话应为 11 位手机号");
      if (!promise.value) return (error.value = "请先勾选承诺");
      busy.value = true;
      try {
        const body = {
          item_code: item.value.code,
          form: Object.fromEntries(Object.entries(form).filter(([, v]) => v)),
          materials: materials.value
            .filter((m) => m.licence || m.ready)
            .map((m) => (m.licence ? { name: m.name, licence_no: m.licence.licence_no } : { name: m.name, source: "paper" })),
        };
        const created = await api("/api/v1/citizen/applications", { method: "POST", auth: true, body });
        go("/applications/" + created.receipt_no + "?new=1", { replace: true });
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = false;
      }
    }
    return { item, me, materials, form, promise, error, busy, delivery: DELIVERY, submit };
  },
};

export const Applications = {
  props: ["params", "query"],
  template: `
    <div>
      <van-tabs v-model:active="filter" sticky offset-top="46">
        <van-tab title="全部" name="all"></van-tab>
        <van-tab title="办理中" name="open"></van-tab>
        <van-tab title="已办结" name="done"></van-tab>
      </van-tabs>
      <van-pull-refresh v-model="refreshing" @refresh="refresh" pulling-text="下拉刷新" loosing-text="释放刷新" loading-text="正在刷新…">
      <van-empty v-if="loaded && !shown.length && !error" description="还没有办件，去办事大厅看看吧">
        <van-button round type="primary" @click="goCatalog">去办事</van-button>
      </van-empty>
      <div class="cards">
        <div v-for="a in shown" :key="a.id" class="card" @click="open(a)" :data-receipt="a.receipt_no">
          <div class="card-head">
            <span class="card-title">{{ a.item_name }}</span>
            <van-tag :type="tagType(a.state)" size="medium" class="state">{{ a.state_name }}</van-tag>
          </div>
          <div class="card-line">申请编号：{{ a.receipt_no }}</div>
          <div class="card-line">提交时间：{{ time(a.submitted_at) }}</div>
          <div class="card-line" v-if="a.overdue"><van-tag type="danger" plain>已超期</van-tag></div>
        </div>
      </div>
      <div class="more" v-if="cursor">
        <van-button block plain type="primary" @click="load(false)">加载更多</van-button>
      </div>
      </van-pull-refresh>
      <p v-if="error" class="error-text">{{ error }}</p>
    </div>`,
  setup() {
    const refreshing = ref(false);
    const items = ref([]);
    const cursor = ref(null);
    const filter = ref("all");
    const loaded = ref(false);
    const error = ref("");

    async function load(fresh) {
      try {
        const page = await api("/api/v1/citizen/applications", {
          auth: true,
          query: { limit: 20, cursor: fresh ? null : cursor.value },
        });
        items.value = fresh ? page.items : items.value.concat(page.items);
        cursor.value = page.next_cursor;
        error.value = "";
      } catch (err) {
        if (err.status !== 401) error.value = err.message;
      } finally {
        loaded.value = true;
        refreshing.value = false;
      }
    }
    const shown = computed(() =>
      items.value.filter((a) =>
        filter.value === "all" ? true : filter.value === "done" ? CONCLUDED.includes(a.state) : !CONCLUDED.includes(a.state)
      )
    );
    onMounted(() => load(true));
    return {
      refreshing,
      refresh: () => load(true),
      items,
      shown,
      cursor,
      filter,
      loaded,
      error,
      load,
      time: formatTime,
      tagType: stateTagType,
      open: (a) => go("/applications/" + a.receipt_no),
      goCatalog: () => go("/catalog"),
    };
  },
};

export const ApplicationDetail = {
  props: ["params", "query"],
  template: `
    <div v-if="a" class="detail">
      <van-notice-bar v-if="query.new && a.state === 'submitted'" left-icon="passed" color="#1a7f37" background="#e8f5ec" wrapable
                      text="申请已提交！请记下申请编号，可随时在“我的办件”查看进度。"></van-notice-bar>
      <div class="status-head" :class="'state-' + a.state">
        <div class="status-name" data-test="state">{{ a.state_name }}</div>
        <div class="status-item">{{ a.item_name }}</div>
        <div class="status-receipt">申请编号 <b data-test="receipt">{{ a.receipt_no }}</b></div>
      </div>
      <van-cell-group inset title="办理信息">
        <van-cell title="申请人" :value="a.applicant_masked"></van-cell>
        <van-cell title="提交渠道" :value="a.channel === 'kiosk' ? '自助终端' : '掌上办'"></van-cell>
        <van-cell title="提交时间" :value="time(a.submitted_at)"></van-cell>
        <van-cell v-if="a.deadline_at" title="承诺办结" :value="time(a.deadline_at)"></van-cell>
        <van-cell v-if="a.concluded_at" title="办结时间" :value="time(a.concluded_at)"></van-cell>
        <van-cell v-if="a.result" title="办理结果" :label="a.result"></van-cell>
      </van-cell-group>
      <van-cell-group inset title="补正材料" v-if="a.state === 'more_material_needed'" class="supplement">
        <div class="text-block warn">审核人员意见：{{ lastReason }}</div>
        <div class="hint">请勾选补交的材料并将纸质件送至办理窗口或邮寄，提交后办件将回到审核。</div>
        <van-cell v-for="m in fixable" :key="m.name" :title="m.name" :label="m.required ? '必交' : '选交'">
          <template #value>
            <van-checkbox v-model="m.ready" shape="square">补交</van-checkbox>
          </template>
        </van-cell>
        <van-field v-model="supplementNote" type="textarea" rows="2" maxlength="500" show-word-limit
                   label="补正说明" placeholder="选填：说明补交了什么"></van-field>
        <div class="action-bar">
          <van-button round block type="warning" size="large" :loading="busy" @click="supplement">提交补正</van-button>
        </div>
      </van-cell-group>
      <p v-if="actionError" class="error-text" role="alert">{{ actionError }}</p>
      <van-cell-group inset title="办理进度">
        <van-steps direction="vertical" :active="0" active-color="#1989fa">
          <van-step v-for="h in history" :key="h.at + h.to_state">
            <div class="step-title">{{ h.state_name }}</div>
            <div class="step-reason" v-if="h.reason">{{ h.reason }}</div>
            <div class="step-time">{{ time(h.at) }}</div>
          </van-step>
        </van-steps>
      </van-cell-group>
      <van-cell-group inset title="申请材料">
        <van-cell v-for="m in a.materials" :key="m.name" :title="m.name" :value="sourceName(m.source)"></van-cell>
      </van-cell-group>
      <div class="action-bar">
        <van-button v-if="concluded" round block type="primary" size="large" @click="rate">评价本次服务</van-button>
        <van-button round block plain size="large" @click="ask">对办理有疑问</van-button>
      </div>
    </div>
    <van-empty v-else-if="error" image="search" :description="error"></van-empty>
    <van-loading v-else class="center" size="32">正在查询办件…</van-loading>`,
  setup(props) {
    const a = ref(null);
    const error = ref("");
    const fixable = ref([]);
    const supplementNote = ref("");
    const actionError = ref("");
    const busy = ref(false);
    let stop = () => {};

    function show(application) {
      const wasWaiting = a.value && a.value.state === "more_material_needed";
      a.value = application;
      // the list of what can be re-submitted is built once per request for material
      if (application.state === "more_material_needed" && !wasWaiting) {
        fixable.value = application.materials
          .filter((m) => m.source !== "e_licence")
          .map((m) => reactive({ name: m.name, required: m.required, ready: false }));
      }
    }

    // true when there is nothing more to wait for: concluded, or not to be seen at all
    async function load() {
      try {
        show(await api("/api/v1/citizen/applications/" + encodeURIComponent(props.params.key), { auth: true }));
        return CONCLUDED.includes(a.value.state);
      } catch (err) {
        error.value = err.message;
        a.value = null;
        return true;
      }
    }
    onMounted(async () => {
      if (!(await load())) stop = poll(load, POLL_MS);
    });
    onBeforeUnmount(() => stop());

    async function supplement() {
      actionError.value = "";
      const chosen = fixable.value.filter((m) => m.ready);
      if (!chosen.length) return (actionError.value = "请勾选要补交的材料");
      busy.value = true;
      try {
        show(
          await api("/api/v1/citizen/applications/" + encodeURIComponent(a.value.receipt_no) + "/materials", {
            method: "POST",
            auth: true,
            body: { materials: chosen.map((m) => ({ name: m.name, source: "paper" })), note: supplementNote.value.trim() },
          })
        );
        supplementNote.value = "";
        vant.showSuccessToast("补正已提交");
      } catch (err) {
        actionError.value = err.message;
      } finally {
        busy.value = false;
      }
    }

    const history = computed(() => (a.value ? [...a.value.history].reverse() : []));
    const lastReason = computed(() => {
      const h = a.value ? a.value.history.filter((x) => x.to_state === "more_material_needed") : [];
      return h.length ? h[h.length - 1].reason : "";
    });
    return {
      a,
      error,
      history,
      lastReason,
      fixable,
      supplementNote,
      actionError,
      busy,
      supplement,
      concluded: computed(() => a.value && CONCLUDED.includes(a.value.state)),
      time: formatTime,
      sourceName: (s) => ({ e_licence: "电子证照", paper: "纸质材料", scan: "扫描件", pending: "待补交" })[s] || s,
      rate: () => go("/rate?application=" + a.value.receipt_no),
      ask: () => go("/ask?item=" + a.value.item_code),
    };
  },
};
